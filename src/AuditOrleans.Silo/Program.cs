using AuditOrleans.Grains;
using AuditOrleans.Silo;
using AuditOrleans.Silo.WebConsole;
using OpenTelemetry.Resources;

AuditOrleansOptions options;
// appsettings.json is read from the program's folder, so `dotnet run --project src/AuditOrleans.Silo`
// works from any directory; relative paths in the settings (data/...) stay relative to the
// current directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
try
{
    options = SiloConfiguration.Read(builder.Configuration);
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
{
    builder.WebHost.UseUrls("http://localhost:8080");
}

builder.UseOrleans(silo => silo.ConfigureAuditOrleans(options));
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
builder.Services.AddAuditConsole();
// The service name /metrics labels its series with (target_info), rather than OpenTelemetry's
// "unknown_service:<process>".
builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(
    serviceName: "auditorleans",
    serviceVersion: typeof(AuditOrleansOptions).Assembly.GetName().Version?.ToString(3)));

var app = builder.Build();
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapAuditConsole(options);

var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AuditOrleans.Silo");
app.Lifetime.ApplicationStarted.Register(() => SiloLog.Ready(
    logger,
    options.Cluster.GatewayPort,
    options.Cluster.Mode,
    SiloConfiguration.DescribeStorage(options),
    string.Join(", ", app.Urls)));
app.Lifetime.ApplicationStopped.Register(() => SiloLog.Stopped(logger));

try
{
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is not OperationCanceledException)
{
    SiloLog.StartFailed(logger, ex.GetBaseException().Message);
    return 1;
}

internal static partial class SiloLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "AuditOrleans silo ready: gateway port {GatewayPort}, clustering {Mode}, storage {Storage}, console {Urls}")]
    public static partial void Ready(ILogger logger, int gatewayPort, ClusterMode mode, string storage, string urls);

    [LoggerMessage(Level = LogLevel.Information, Message = "AuditOrleans silo stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "AuditOrleans silo could not start: {Reason}")]
    public static partial void StartFailed(ILogger logger, string reason);
}
