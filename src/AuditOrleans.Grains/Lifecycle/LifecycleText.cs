namespace AuditOrleans.Grains.Lifecycle;

/// <summary>Checks of the free text and ids given to silences and acknowledgements.</summary>
public static class LifecycleText
{
    /// <summary>Trimmed text, or null when blank; an <see cref="ArgumentException"/> naming <paramref name="what"/> when too long or not printable.</summary>
    public static string? Optional(string? text, int max, string what)
    {
        var value = string.IsNullOrWhiteSpace(text) ? null : text.Trim();
        if (value is { Length: var length } && length > max)
        {
            throw new ArgumentException($"The {what} is {length} characters long; at most {max} are accepted.");
        }

        // Line breaks are allowed in a comment; other control characters are not.
        if (value is not null && value.Any(static c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
        {
            throw new ArgumentException($"The {what} contains control characters: use printable text.");
        }

        return value;
    }

    /// <summary>Trimmed, non-blank text, checked as <see cref="Optional"/>.</summary>
    public static string Required(string? text, int max, string what) =>
        Optional(text, max, what) ?? throw new ArgumentException($"Give a {what}: it is required.");

    /// <summary>An id of 32 hex digits (a firing's or a silence's), lower-cased; an <see cref="ArgumentException"/> otherwise.</summary>
    public static string Id(string? id, string what)
    {
        var value = id?.Trim().ToLowerInvariant() ?? "";
        if (value.Length != 32 || !value.All(Uri.IsHexDigit))
        {
            throw new ArgumentException($"'{Scope.Printable(id)}' is not a {what} id: give the 32 hex digits shown by {(what == "silence" ? "Get-AuditAlertSilence" : "Get-AuditAlertHistory")}.");
        }

        return value;
    }
}
