namespace AuditOrleans.Grains.Notifications;

/// <summary>The kinds of address the webhook target check tells apart (docs/security.md, Webhook targets).</summary>
public enum AddressCategory
{
    Public,
    Loopback,
    Private,
    SharedNat,
    LinkLocal,
    UniqueLocal,
    Metadata,
    Multicast,
    Broadcast,
    Unspecified,
    Reserved,
}
