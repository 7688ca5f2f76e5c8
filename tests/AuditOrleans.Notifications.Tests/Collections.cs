using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>A cluster that sends over SMTP to the test server; tests use their own projects and addresses.</summary>
[CollectionDefinition(Name)]
public sealed class SmtpCollection : ICollectionFixture<SmtpClusterFixture>
{
    public const string Name = "smtp";
}

/// <summary>A cluster of its own, restarted by its test.</summary>
[CollectionDefinition(Name)]
public sealed class RestartCollection : ICollectionFixture<RestartCollection.Fixture>
{
    public const string Name = "smtp-restart";

    public sealed class Fixture : SmtpClusterFixture;
}

/// <summary>A cluster without an SMTP host: emails go to the pickup directory.</summary>
[CollectionDefinition(Name)]
public sealed class PickupCollection : ICollectionFixture<AuditClusterFixture>
{
    public const string Name = "pickup";
}
