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

    // AUDITORLEANS_TEST_LOG_DIR: also write every line, with its time, to {dir}/{id}.log (to read a failed run's silo logs).
    private StreamWriter? file;

    public IReadOnlyCollection<string> Lines => lines;

    /// <summary>Everything logged so far, one entry per line.</summary>
    public string Text => string.Join(Environment.NewLine, lines);

    public static (string Id, TestLogSink Sink) Create()
    {
        var id = Guid.NewGuid().ToString("N");
        var sink = new TestLogSink();
        if (Environment.GetEnvironmentVariable("AUDITORLEANS_TEST_LOG_DIR") is { Length: > 0 } directory)
        {
            System.IO.Directory.CreateDirectory(directory);
            sink.file = new StreamWriter(Path.Combine(directory, id + ".log")) { AutoFlush = true };
        }

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
            line = exception is null ? line : line + " " + exception;
            sink.lines.Enqueue(line);
            if (sink.file is { } file)
            {
                lock (file)
                {
                    file.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} [{Environment.CurrentManagedThreadId}] {line}");
                }
            }
        }
    }
}
