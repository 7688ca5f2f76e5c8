using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains;

/// <summary>
/// Serves settings that the host has already read and completed (the <c>Regions</c> list the
/// binder cannot express) through the standard options pipeline, so that every
/// <see cref="IValidateOptions{TOptions}"/> runs on them and <c>ValidateOnStart</c> stops the
/// start on the first use rather than letting a bad value surface later.
/// </summary>
public sealed class PreparedOptionsFactory(AuditOrleansOptions value, IEnumerable<IValidateOptions<AuditOrleansOptions>> validators) : IOptionsFactory<AuditOrleansOptions>
{
    public AuditOrleansOptions Create(string name)
    {
        var failures = validators.Select(v => v.Validate(name, value)).Where(static r => r.Failed).SelectMany(static r => r.Failures ?? []).ToList();
        return failures.Count > 0 ? throw new OptionsValidationException(name, typeof(AuditOrleansOptions), failures) : value;
    }

    /// <summary>Registers <paramref name="options"/> as the engine's settings, checked by <see cref="AuditOrleansOptionsValidator"/> at start.</summary>
    public static IServiceCollection Register(IServiceCollection services, AuditOrleansOptions options)
    {
        services.AddSingleton<IValidateOptions<AuditOrleansOptions>, AuditOrleansOptionsValidator>();
        services.AddSingleton<IOptionsFactory<AuditOrleansOptions>>(provider =>
            new PreparedOptionsFactory(options, provider.GetServices<IValidateOptions<AuditOrleansOptions>>()));
        services.AddOptions<AuditOrleansOptions>().ValidateOnStart();
        return services;
    }
}
