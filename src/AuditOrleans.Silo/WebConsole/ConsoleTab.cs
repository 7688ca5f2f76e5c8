using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>The tabs of the console.</summary>
public enum ConsoleTab
{
    None,
    AuditTrail,
    Alerts,
    History,
    Overview,
    Silences,
    Contacts,
}
