namespace AuditOrleans.Silo.WebConsole;

/// <summary><c>/console.css</c>: the style sheet embedded in the silo assembly (WebConsole/console.css).</summary>
internal static class ConsoleStyleSheet
{
    private static readonly Lazy<string> Content = new(static () =>
    {
        using var stream = typeof(ConsoleStyleSheet).Assembly.GetManifestResourceStream("console.css")
            ?? throw new InvalidOperationException("The console style sheet is not embedded in the silo assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/console.css", static () => Results.Text(Content.Value, "text/css; charset=utf-8"));
}
