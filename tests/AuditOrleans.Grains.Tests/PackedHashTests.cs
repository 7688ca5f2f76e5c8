using AuditOrleans.Grains.Storage;
using Xunit;
using AuditOrleans.Grains.AuditLog;

namespace AuditOrleans.Grains.Tests;

public sealed class PackedHashTests
{
    [Fact]
    public void CanonicalHashesRoundTripExactly()
    {
        var computed = HashChain.Compute("p-1", "fr-par", 7, HashChain.Genesis, "{\"id\":\"e\"}");
        foreach (var hash in new[] { computed, HashChain.Genesis, new string('f', 64) })
        {
            Assert.True(PackedHash.TryPack(hash, out var packed));
            Assert.Equal(hash, packed.ToString());
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000a")]
    [InlineData("ABCDEF0000000000000000000000000000000000000000000000000000000000")]
    [InlineData("g000000000000000000000000000000000000000000000000000000000000000")]
    public void AnythingElseIsNotPacked(string hash) => Assert.False(PackedHash.TryPack(hash, out _));
}
