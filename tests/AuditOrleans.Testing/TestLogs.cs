using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AuditOrleans.Testing;

/// <summary>
/// Captures every log line the silos of a test cluster write (formatted message and exception),
/// so that tests can check what is and is not logged. Like <see cref="TestClocks"/>, sinks are
/// found by id because silo configurators are created by the test host.
/// </summary>
public sealed class TestLogSink : ILoggerProvider
{
    private static readonly ConcurrentDictionary<string, TestLogSink> Sinks = new();

    private readonly ConcurrentQueue<string> lines = new();

    public IReadOnlyCollection<string> Lines => lines;

    /// <summary>Everything logged so far, one entry per line.</summary>
    public string Text => string.Join(Environment.NewLine, lines);

    public static (string Id, TestLogSink Sink) Create()
    {
        var id = Guid.NewGuid().ToString("N");
        var sink = new TestLogSink();
        Sinks[id] = sink;
        return (id, sink);
    }

    public static TestLogSink Get(string id) =>
        Sinks.TryGetValue(id, out var sink) ? sink : throw new InvalidOperationException($"No test log sink '{id}'.");

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)}";
            sink.lines.Enqueue(exception is null ? line : line + " " + exception);
        }
    }
}
