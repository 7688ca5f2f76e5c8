using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace AuditOrleans.Grains.Tests;

/// <summary>The one check of the settings: values that used to be clamped silently are refused with their key, wherever the engine is hosted.</summary>
public sealed class OptionsValidatorTests
{
    [Fact]
    public void OutOfRangeValuesAreRefusedWithTheirKey()
    {
        var options = new AuditOrleansOptions();
        options.Security.KeyCacheSeconds = -1;
        options.Security.IngestBurst = 0;
        options.Security.IngestEventsPerSecond = -5;
        options.Smtp.Timeout = TimeSpan.Zero;

        var errors = AuditOrleansOptionsValidator.Check(options);

        Assert.Contains(errors, e => e.StartsWith("AuditOrleans:Security:KeyCacheSeconds is -1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("AuditOrleans:Security:IngestBurst is 0", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("AuditOrleans:Security:IngestEventsPerSecond is -5", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("AuditOrleans:Smtp:Timeout", StringComparison.Ordinal));
        Assert.Empty(AuditOrleansOptionsValidator.Check(new AuditOrleansOptions()));
    }

    [Fact]
    public void TheOptionsPipelineRunsTheValidatorOnFirstUse()
    {
        var bad = new AuditOrleansOptions();
        bad.Security.KeyCacheSeconds = 99_999;
        var services = new ServiceCollection();
        PreparedOptionsFactory.Register(services, bad);
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AuditOrleansOptions>>().Value);
        Assert.Contains(failure.Failures, f => f.Contains("Security:KeyCacheSeconds is 99999", StringComparison.Ordinal));

        var good = new ServiceCollection();
        PreparedOptionsFactory.Register(good, new AuditOrleansOptions());
        using var goodProvider = good.BuildServiceProvider();
        Assert.Equal(30, goodProvider.GetRequiredService<IOptions<AuditOrleansOptions>>().Value.Security.KeyCacheSeconds);
    }
}
