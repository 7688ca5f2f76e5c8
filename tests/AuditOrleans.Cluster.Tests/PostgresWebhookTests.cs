using AuditOrleans.Testing;
using Npgsql;
using Xunit;

namespace AuditOrleans.Cluster.Tests;

/// <summary>Webhook contacts on PostgreSQL (deploy/sql/postgresql/007-webhooks.sql): the same statements as on SQLite.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresWebhookTests(PostgresClusterFixture fixture)
{
    [PostgresFact]
    public async Task AWebhookIsStoredSealedReachedSignedRotatedAndRemoved()
    {
        var project = AuditClusterFixture.NewProjectId("pgw");
        var contacts = fixture.Grains.GetGrain<INotificationContactsGrain>(project);
        await using var receiver = new WebhookTestReceiver(() => fixture.Clock.GetUtcNow());
        receiver.Start();
        var path = $"hooks/{Guid.NewGuid():N}";

        var issued = await contacts.AddWebhookAsync(receiver.Url(path), WebhookFormat.Json, NotificationType.Security);
        receiver.Trust(path, issued.Secret!);
        var again = await contacts.AddWebhookAsync(receiver.Url(path), null, NotificationType.Incident);
        Assert.Equal((false, NotificationType.Security | NotificationType.Incident, WebhookFormat.Json), (again.Created, again.Contact.Types, again.Contact.Format));

        // Test-AuditAlert's path: one delivery to the webhook, signed, shown with its target in the history.
        var test = await fixture.Grains.GetGrain<INotificationGrain>(0).SendTestAsync(project, "fr-par", AlertName.ApiKeyDeleted);
        var request = Assert.Single(await receiver.WaitForAsync(path));
        Assert.Null(request.Rejection);
        var delivery = Assert.Single(test.Deliveries);
        Assert.Equal(issued.Contact.Id, delivery.Recipient);
        Assert.Equal($"Json {issued.Contact.DisplayUrl}", delivery.Target);

        var rotated = await contacts.ResetWebhookSecretAsync(receiver.Url(path), TimeSpan.FromMinutes(30));
        Assert.NotNull(rotated);
        Assert.Equal(fixture.Clock.GetUtcNow().AddMinutes(30), Assert.Single(await contacts.GetWebhooksAsync()).PreviousSecretExpiresAt);
        await fixture.Grains.GetGrain<INotificationGrain>(0).SendTestAsync(project, "fr-par", AlertName.ApiKeyDeleted);
        var second = (await receiver.WaitForAsync(path, 2))[1];
        Assert.Equal(2, second.Signature!.Split(' ').Length);
        Assert.Null(WebhookVerifier.Reject(issued.Secret!, second.Id, second.Timestamp, second.Signature, second.Body, fixture.Clock.GetUtcNow()));
        Assert.Null(WebhookVerifier.Reject(rotated.Secret!, second.Id, second.Timestamp, second.Signature, second.Body, fixture.Clock.GetUtcNow()));

        // A database reader sees neither secret nor the URL's path.
        await using (var connection = new NpgsqlConnection(fixture.PostgresConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT row_to_json(w)::text FROM notification_webhooks w WHERE project_id = @p", connection);
            command.Parameters.AddWithValue("p", project);
            var row = (string)(await command.ExecuteScalarAsync())!;
            Assert.Contains(issued.Contact.Id, row, StringComparison.Ordinal);
            Assert.DoesNotContain(issued.Secret!, row, StringComparison.Ordinal);
            Assert.DoesNotContain(rotated.Secret!, row, StringComparison.Ordinal);
            Assert.DoesNotContain(path.Split('/')[1], row, StringComparison.Ordinal);
        }

        Assert.True(await contacts.RemoveWebhookAsync(issued.Contact.Id));
        Assert.Empty(await contacts.GetWebhooksAsync());
    }
}
