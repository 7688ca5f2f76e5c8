using AuditOrleans.Testing;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>
/// Guessing keys through the gateway: failed checks are throttled per client address and per key
/// id, a throttled check costs nothing, a key that worked before keeps working, and the limit
/// lifts when the minute has passed (the cluster's clock is injected).
/// </summary>
[Collection(ThrottleCollection.Name)]
public sealed class KeyGuessingTests(ThrottleClusterFixture fixture)
{
    [Fact]
    public async Task GuessingIsThrottledPerAddressAndKeyAndLiftsAfterTheWindow()
    {
        var project = AuditClusterFixture.NewProjectId("guess");
        var holderKey = await fixture.CreateApiKeyAsync(ApiKeyRole.ReadOnly, project);
        Assert.True(Security.ApiKeySecret.TryParse(holderKey, out var keyId));
        await using var holder = await fixture.CreateClientAsync(holderKey);
        var config = Scope.Key(project, "fr-par");
        await holder.Grains.GetGrain<IAlertConfigGrain>(config).GetAsync();

        // Wrong secrets for a known key id: refused as invalid up to the per-key limit, then refused unchecked.
        var messages = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            await using var guesser = await fixture.CreateClientAsync($"ao_{keyId}_wrong-secret-{i:D4}-000000000000000000");
            var refusal = await Assert.ThrowsAsync<AccessDeniedException>(() => guesser.Grains.GetGrain<IAlertConfigGrain>(config).GetAsync());
            messages.Add(refusal.Message);
        }

        Assert.All(messages.Take(10), m => Assert.Contains("not valid", m, StringComparison.Ordinal));
        Assert.All(messages.Skip(10), m => Assert.Contains("too many failed API-key checks", m, StringComparison.Ordinal));

        // The holder's key was checked before the attack: it keeps working.
        await holder.Grains.GetGrain<IAlertConfigGrain>(config).GetAsync();

        // Unknown key ids from the same address: past 20 failures, even a new valid key from here is refused unchecked.
        for (var i = 0; i < 10; i++)
        {
            await using var guesser = await fixture.CreateClientAsync($"ao_{Random.Shared.NextInt64():x16}_unknown-key-id-000000000000000000");
            await Assert.ThrowsAsync<AccessDeniedException>(() => guesser.Grains.GetGrain<IAlertConfigGrain>(config).GetAsync());
        }

        var newKey = await fixture.CreateApiKeyAsync(ApiKeyRole.ReadOnly, project);
        await using (var newcomer = await fixture.CreateClientAsync(newKey))
        {
            var throttled = await Assert.ThrowsAsync<AccessDeniedException>(() => newcomer.Grains.GetGrain<IAlertConfigGrain>(config).GetAsync());
            Assert.Contains("too many failed API-key checks", throttled.Message, StringComparison.Ordinal);
        }

        // A minute later the address may try again.
        fixture.Clock.Advance(Security.FailedAuthThrottle.Window + TimeSpan.FromSeconds(1));
        await using (var newcomer = await fixture.CreateClientAsync(newKey))
        {
            Assert.Equal(project, (await newcomer.Grains.GetGrain<IAlertConfigGrain>(config).GetAsync()).ProjectId);
        }
    }
}
