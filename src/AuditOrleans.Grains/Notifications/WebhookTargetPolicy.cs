using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Notifications;

/// <summary>
/// Which URLs a webhook contact may name and which addresses the silo may connect to for it
/// (docs/security.md, Webhook targets): https (plain http only to loopback), no credentials in
/// the URL, and every address the host name resolves to public, unless
/// <c>Notifications:Webhooks:AllowPrivateTargets</c> allows private networks. Checked when the
/// contact is added and again at every connection (<see cref="WebhookSender"/>), so a name that
/// later resolves elsewhere (DNS rebinding) is refused too.
/// </summary>
public sealed class WebhookTargetPolicy(IOptions<AuditOrleansOptions> options)
{
    private const string AllowPrivateKey = AuditOrleansOptions.SectionName + ":Notifications:Webhooks:AllowPrivateTargets";

    private static readonly IPAddress[] MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"),
        IPAddress.Parse("169.254.170.2"),
        IPAddress.Parse("100.100.100.200"),
        IPAddress.Parse("fd00:ec2::254"),
    ];

    /// <summary>
    /// Checks the form of a webhook URL and returns it normalised (lower-case scheme and host, no
    /// default port); throws <see cref="ArgumentException"/> saying what is wrong.
    /// </summary>
    public static Uri Parse(string? url)
    {
        var text = url?.Trim() ?? "";
        if (text.Length == 0 || text.Length > WebhookSecretLimits.MaxUrlLength || text.Any(char.IsControl)
            || !Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.Host.Length == 0)
        {
            throw new ArgumentException(
                $"'{Scope.Printable(url, 200)}' is not an absolute https URL (at most {WebhookSecretLimits.MaxUrlLength} characters): give one like https://hooks.example.com/auditorleans.");
        }

        if (uri.UserInfo.Length > 0)
        {
            throw new ArgumentException(
                $"The webhook URL carries a user name or password ({uri.Scheme}://…@{uri.Host}): leave them out; receivers authenticate AuditOrleans by the request's signature (docs/webhooks.md).");
        }

        if (uri.Fragment.Length > 0)
        {
            throw new ArgumentException($"The webhook URL has a fragment ('{Scope.Printable(uri.Fragment, 100)}'), which is never sent: remove it.");
        }

        return uri;
    }

    /// <summary>
    /// The URL's host shortened for display: scheme, host, port and the first path segment,
    /// "/…" for the rest (a Slack or Teams URL's path is a credential).
    /// </summary>
    public static string Display(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var first = segments.Length > 0 ? "/" + segments[0] : "/";
        var more = segments.Length > 1 || uri.Query.Length > 0 ? (segments.Length > 0 ? "/…" : "…") : "";
        var shown = first.Length > 41 ? first[..40] + "…" : first;
        return $"{uri.Scheme}://{uri.Authority}{shown}{more}";
    }

    /// <summary>
    /// Checks a new contact's URL: its form, the scheme, and every address its host resolves to.
    /// Throws <see cref="ArgumentException"/> with what is wrong and what to do.
    /// </summary>
    public async Task<Uri> CheckNewAsync(string? url, CancellationToken cancellationToken = default)
    {
        var uri = Parse(url);
        var addresses = await ResolveAsync(uri.IdnHost, cancellationToken).ConfigureAwait(false) is { } resolved
            ? resolved
            : throw new ArgumentException($"The webhook host '{uri.Host}' does not resolve to any address: check the name.");
        if (FirstRefusal(uri.Host, addresses) is { } refusal)
        {
            throw new ArgumentException(refusal);
        }

        if (uri.Scheme != "https" && !addresses.All(IPAddress.IsLoopback))
        {
            throw new ArgumentException(
                $"Webhook URLs must use https, so that the alert and its signature cannot be read or changed on the way: use https://{uri.Authority}{uri.PathAndQuery} (plain http is allowed only for a receiver on loopback, e.g. http://127.0.0.1:8081/).");
        }

        return uri;
    }

    /// <summary>The addresses of a host name or literal; null when it has none. Throws <see cref="ArgumentException"/> when the name cannot be resolved.</summary>
    public static async Task<IPAddress[]?> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var name = host.Trim('[', ']');
        if (IPAddress.TryParse(name, out var literal))
        {
            return [literal];
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(name, cancellationToken).ConfigureAwait(false);
            return addresses.Length == 0 ? null : addresses;
        }
        catch (SocketException ex)
        {
            throw new ArgumentException($"Cannot resolve the webhook host '{Scope.Printable(host, 200)}' ({ex.SocketErrorCode}): check the name.", ex);
        }
    }

    /// <summary>Why the silo must not connect to one of these addresses of <paramref name="host"/>; null when it may connect to all of them.</summary>
    public string? FirstRefusal(string host, IEnumerable<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var webhooks = options.Value.Notifications.Webhooks;
        foreach (var address in addresses)
        {
            var category = Classify(address);
            var allowed = category switch
            {
                AddressCategory.Public => true,
                AddressCategory.Loopback => webhooks.AllowLoopbackTargets,
                AddressCategory.Private or AddressCategory.LinkLocal or AddressCategory.UniqueLocal or AddressCategory.SharedNat => webhooks.AllowPrivateTargets,
                _ => false,
            };
            if (allowed)
            {
                continue;
            }

            var shown = host.Trim('[', ']') == address.ToString() ? $"The webhook target {address}" : $"The webhook host '{Scope.Printable(host, 200)}' resolves to {address}, which";
            return category switch
            {
                AddressCategory.Metadata => $"{shown} is a cloud metadata address: never a webhook target.",
                AddressCategory.Loopback =>
                    $"{shown} is a loopback address, and {AuditOrleansOptions.SectionName}:Notifications:Webhooks:AllowLoopbackTargets is false: use a public https endpoint.",
                AddressCategory.Private or AddressCategory.LinkLocal or AddressCategory.UniqueLocal or AddressCategory.SharedNat =>
                    $"{shown} is a {Describe(category)} address: AuditOrleans does not send webhooks into private networks, so that a contact cannot make the silo probe its own network. " +
                    $"Use a public https endpoint, or set {AllowPrivateKey}=true if this receiver is meant to be inside your network.",
                _ => $"{shown} is a {Describe(category)} address, never a webhook target: give the receiver's public https URL.",
            };
        }

        return null;
    }

    /// <summary>What kind of address this is, for the target check.</summary>
    public static AddressCategory Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (MetadataAddresses.Contains(address))
        {
            return AddressCategory.Metadata;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b switch
            {
                [0, ..] => AddressCategory.Unspecified,
                [127, ..] => AddressCategory.Loopback,
                [10, ..] or [172, >= 16 and <= 31, ..] or [192, 168, ..] => AddressCategory.Private,
                [100, >= 64 and <= 127, ..] => AddressCategory.SharedNat,
                [169, 254, ..] => AddressCategory.LinkLocal,
                [255, 255, 255, 255] => AddressCategory.Broadcast,
                [>= 224 and <= 239, ..] => AddressCategory.Multicast,
                [>= 240, ..] or [192, 0, 0, _] or [192, 0, 2, _] or [198, 18 or 19, ..] or [198, 51, 100, _] or [203, 0, 113, _] => AddressCategory.Reserved,
                _ => AddressCategory.Public,
            };
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return AddressCategory.Reserved;
        }

        if (address.Equals(IPAddress.IPv6Any))
        {
            return AddressCategory.Unspecified;
        }

        if (address.Equals(IPAddress.IPv6Loopback))
        {
            return AddressCategory.Loopback;
        }

        var v6 = address.GetAddressBytes();
        if (address.IsIPv6Multicast)
        {
            return AddressCategory.Multicast;
        }

        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal)
        {
            return AddressCategory.LinkLocal;
        }

        if ((v6[0] & 0xfe) == 0xfc)
        {
            return AddressCategory.UniqueLocal;
        }

        // NAT64 (64:ff9b::/96) and IPv4-compatible (::a.b.c.d) addresses reach an IPv4 address: judge that one.
        if ((v6[0] == 0 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b && v6.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            || v6.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0)
        {
            return Classify(new IPAddress(v6.AsSpan(12, 4)));
        }

        // Documentation (2001:db8::/32) and the other reserved ranges outside 2000::/3.
        if ((v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8) || (v6[0] & 0xe0) != 0x20)
        {
            return AddressCategory.Reserved;
        }

        return AddressCategory.Public;
    }

    private static string Describe(AddressCategory category) => category switch
    {
        AddressCategory.Private => "private (RFC 1918)",
        AddressCategory.SharedNat => "shared (carrier-grade NAT)",
        AddressCategory.LinkLocal => "link-local",
        AddressCategory.UniqueLocal => "unique-local (private IPv6)",
        AddressCategory.Multicast => "multicast",
        AddressCategory.Broadcast => "broadcast",
        AddressCategory.Unspecified => "unspecified",
        _ => "reserved",
    };
}
