using System.Net;
using System.Text.RegularExpressions;

namespace AuditOrleans.Console.Tests;

/// <summary>
/// A minimal browser over HttpClient: keeps cookies itself (the session cookie is Secure, which
/// .NET's cookie container would not send over http://127.0.0.1, while browsers do for loopback),
/// does not follow redirects, and fills in the anti-forgery field of the last page.
/// </summary>
public sealed partial class ConsoleSession : IDisposable
{
    private readonly HttpClient http;
    private readonly Dictionary<string, string> cookies = new(StringComparer.Ordinal);

    public ConsoleSession(string baseUrl)
    {
        http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri(baseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public IReadOnlyDictionary<string, string> Cookies => cookies;

    /// <summary>Raw Set-Cookie headers of the last response.</summary>
    public IReadOnlyList<string> LastSetCookies { get; private set; } = [];

    public string? LastCsrf { get; private set; }

    public async Task<Response> GetAsync(string path, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync(request, bearer);
    }

    public async Task<Response> PostFormAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, bool withCsrf = true, string? bearer = null)
    {
        var all = fields.ToList();
        if (withCsrf && LastCsrf is not null)
        {
            all.Add(new("_csrf", LastCsrf));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(all) };
        return await SendAsync(request, bearer);
    }

    /// <summary>Signs in with a key through the sign-in form.</summary>
    public async Task<Response> SignInAsync(string key, string returnUrl = "/audit-trail")
    {
        await GetAsync("/sign-in?return_url=" + Uri.EscapeDataString(returnUrl));
        return await PostFormAsync("/sign-in", [new("api_key", key), new("return_url", returnUrl)]);
    }

    /// <summary>Sets a cookie as if a server had sent it (e.g. a session cookie carried to another silo).</summary>
    public void SetCookie(string name, string value) => cookies[name] = value;

    public void Dispose() => http.Dispose();

    private async Task<Response> SendAsync(HttpRequestMessage request, string? bearer)
    {
        if (cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", cookies.Select(static c => $"{c.Key}={c.Value}")));
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        LastSetCookies = response.Headers.TryGetValues("Set-Cookie", out var setCookies) ? [.. setCookies] : [];
        foreach (var header in LastSetCookies)
        {
            var pair = header.Split(';', 2)[0];
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var (name, value) = (pair[..eq].Trim(), pair[(eq + 1)..].Trim());
            if (value.Length == 0 || header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
            {
                cookies.Remove(name);
            }
            else
            {
                cookies[name] = value;
            }
        }

        if (CsrfField().Match(body) is { Success: true } match)
        {
            LastCsrf = WebUtility.HtmlDecode(match.Groups[1].Value);
        }

        return new Response(response.StatusCode, body, response.Headers.Location?.OriginalString, response.Content.Headers.ContentType?.ToString() ?? "", response.Headers.Concat(response.Content.Headers).ToDictionary(static h => h.Key, static h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase));
    }

    [GeneratedRegex("name=\"_csrf\" value=\"([^\"]*)\"")]
    private static partial Regex CsrfField();

    public sealed record Response(HttpStatusCode Status, string Body, string? Location, string ContentType, IReadOnlyDictionary<string, string> Headers);
}
