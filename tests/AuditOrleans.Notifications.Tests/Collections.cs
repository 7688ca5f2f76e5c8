using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Notifications.Tests;

/// <summary>A cluster that sends over SMTP to the test server; tests use their own projects and addresses.</summary>
[CollectionDefinition(Name)]
public sealed class SmtpCollection : ICollectionFixture<SmtpClusterFixture>
{
    public const string Name = "smtp";
}

/// <summary>A cluster of its own, restarted by its test, whose SMTP server requires a login.</summary>
[CollectionDefinition(Name)]
public sealed class RestartCollection : ICollectionFixture<RestartCollection.Fixture>
{
    public const string Name = "smtp-restart";

    public sealed class Fixture : SmtpClusterFixture
    {
        public const string User = "alerts-sender";

        public Fixture() => Smtp.RequiredLogin = (User, Password);

        /// <summary>A test credential of the throwaway server, not a secret.</summary>
        public static string Password => "test-password-" + nameof(RestartCollection);

        protected override IEnumerable<KeyValuePair<string, string>> Settings =>
            [.. base.Settings, new("Smtp:Username", User), new("Smtp:Password", Password)];
    }
}

/// <summary>A cluster without an SMTP host: emails go to the pickup directory.</summary>
[CollectionDefinition(Name)]
public sealed class PickupCollection : ICollectionFixture<AuditClusterFixture>
{
    public const string Name = "pickup";
}

/// <summary>A cluster whose contacts may receive two emails an hour (Alerts:MaxEmailsPerContactPerHour).</summary>
[CollectionDefinition(Name)]
public sealed class CapCollection : ICollectionFixture<CapCollection.Fixture>
{
    public const string Name = "smtp-cap";

    public const int Cap = 2;

    public sealed class Fixture : SmtpClusterFixture
    {
        protected override IEnumerable<KeyValuePair<string, string>> Settings =>
            [.. base.Settings, new("Alerts:MaxEmailsPerContactPerHour", Cap.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }
}

/// <summary>A cluster whose clock starts on the Saturday before Europe's spring daylight-saving change of 2027.</summary>
[CollectionDefinition(Name)]
public sealed class DaylightSavingCollection : ICollectionFixture<DaylightSavingCollection.Fixture>
{
    public const string Name = "smtp-dst";

    public static readonly DateTimeOffset Start = new(2027, 3, 27, 12, 0, 0, TimeSpan.Zero);

    public sealed class Fixture : SmtpClusterFixture
    {
        public override Task InitializeAsync()
        {
            Clock.SetUtcNow(Start);
            return base.InitializeAsync();
        }
    }
}

/// <summary>
/// A cluster whose contacts include webhooks that point at a <see cref="WebhookTestReceiver"/> on
/// 127.0.0.1; restarted by some of its tests. Webhook retries start at 5 s and double, five attempts.
/// </summary>
[CollectionDefinition(Name)]
public sealed class WebhookCollection : ICollectionFixture<WebhookCollection.Fixture>
{
    public const string Name = "webhooks";

    public const int MaxAttempts = 5;

    public static readonly TimeSpan InitialRetryDelay = TimeSpan.FromSeconds(5);

    public sealed class Fixture : SmtpClusterFixture
    {
        public Fixture() => Receiver = new WebhookTestReceiver(() => Clock.GetUtcNow());

        public WebhookTestReceiver Receiver { get; }

        protected override IEnumerable<KeyValuePair<string, string>> Settings =>
        [
            .. base.Settings,
            new("Notifications:Webhooks:InitialRetryDelay", InitialRetryDelay.ToString()),
            new("Notifications:Webhooks:MaxRetryDelay", "00:01:00"),
            new("Notifications:Webhooks:MaxRetryAfter", "00:02:00"),
            new("Notifications:Webhooks:MaxAttempts", MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("Notifications:Webhooks:Timeout", "00:00:10"),
        ];

        public override async Task InitializeAsync()
        {
            Receiver.Start();
            await base.InitializeAsync();
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            await Receiver.DisposeAsync();
        }
    }
}
