using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditOrleans.Grains.Security;

/// <summary>
/// Refusals that Orleans would report as server failures. A project grain whose caller may not
/// use it (<see cref="ActivationGuard"/>) or whose key is malformed (<see cref="GrainKeyGuard"/>)
/// is refused while it activates, and Orleans logs every failed activation as three errors with
/// stack traces. Such a refusal is the caller's mistake or an attack, not the server's: the
/// guards mark the exception, log one line themselves (<see cref="RefusalLog"/>), and the silo's
/// logger factory drops Orleans' entries whose exception carries the mark. Every other
/// activation failure (a database that is down) is still logged as Orleans logs it.
/// </summary>
public static class ExpectedRefusals
{
    private const string MarkKey = "AuditOrleans.ExpectedRefusal";

    /// <summary>Marks <paramref name="exception"/> as a refusal already logged, and returns it.</summary>
    public static TException Mark<TException>(TException exception)
        where TException : Exception
    {
        exception.Data[MarkKey] = true;
        return exception;
    }

    /// <summary>True when <paramref name="exception"/> or one of its inner exceptions was marked.</summary>
    public static bool IsMarked(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 16; depth++, exception = exception.InnerException)
        {
            if (exception.Data.Contains(MarkKey))
            {
                return true;
            }

            if (exception is AggregateException aggregate && aggregate.InnerExceptions.Any(IsMarked))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Wraps the silo's logger factory so that Orleans' reports of marked refusals are dropped.</summary>
    public static IServiceCollection AddExpectedRefusalLogFilter(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(provider => new FilteringLoggerFactory(new LoggerFactory(
            provider.GetServices<ILoggerProvider>(),
            provider.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            provider.GetService<IOptions<LoggerFactoryOptions>>(),
            provider.GetService<IExternalScopeProvider>()))));
        return services;
    }

    private sealed class FilteringLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName)
        {
            var logger = inner.CreateLogger(categoryName);
            return categoryName.StartsWith("Orleans", StringComparison.Ordinal) ? new FilteringLogger(logger) : logger;
        }

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();
    }

    private sealed class FilteringLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null && IsMarked(exception))
            {
                return;
            }

            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
