using System.Security.Cryptography.X509Certificates;
using AuditOrleans.Tls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace AuditOrleans.Testing;

/// <summary>
/// A two-silo test cluster over real TCP with TLS on (a self-signed certificate made for the
/// collection): the gateway presents it to clients, the silos use it for mutual TLS between
/// them. The fixture's own client trusts it; <see cref="TrustingClient"/> gives others that do.
/// </summary>
public sealed class TlsClusterFixture : AuditClusterFixture
{
    private const string TrustedKey = "Test:TlsTrustedCertificatePath";

    public TlsClusterFixture()
    {
        Certificate = TestCertificate.Create(Directory.Path);
    }

    public TestCertificate Certificate { get; }

    protected override short InitialSilos => 2;

    protected override IEnumerable<KeyValuePair<string, string>> Settings =>
    [
        new("Tls:CertificatePath", Certificate.PfxPath),
        new("Tls:CertificatePassword", Certificate.Password),
        new("Tls:HandshakeTimeout", HandshakeTimeout.ToString()),
    ];

    /// <summary>Short, so that tests of silent peers take seconds.</summary>
    public static TimeSpan HandshakeTimeout { get; } = TimeSpan.FromSeconds(2);

    /// <summary>Client TLS settings that trust the cluster's certificate.</summary>
    public TlsClientSettings TrustingClient => new() { TrustedCertificates = TlsCertificates.LoadTrusted(Certificate.CertificatePemPath) };

    protected override void ConfigureBuilder(TestClusterBuilder builder)
    {
        builder.Properties[TrustedKey] = Certificate.CertificatePemPath;
        builder.AddClientBuilderConfigurator<TlsClientConfigurator>();
        builder.AddSiloBuilderConfigurator<HandshakeLogConfigurator>();
    }

    /// <summary>Each connection's handshake is logged at Debug: let the tests see them.</summary>
    public sealed class HandshakeLogConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) =>
            siloBuilder.Services.AddLogging(static l => l.AddFilter("AuditOrleans.Tls", LogLevel.Debug));
    }

    /// <summary>The test host's own client speaks TLS to the gateway too.</summary>
    public sealed class TlsClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseAuditTls(new TlsClientSettings { TrustedCertificates = TlsCertificates.LoadTrusted(configuration[TrustedKey]!) });
    }
}
