using System.Data.Common;
using System.Globalization;
using AuditOrleans.Grains.Storage;
using static AuditOrleans.Grains.Storage.Db;

namespace AuditOrleans.Grains.Lifecycle;

/// <summary>
/// Silences (<c>alert_silences</c>, and <c>fired_alert_silences</c> for the firings they held)
/// and the taking and closing of firings (<c>alert_acknowledgements</c>), over ADO.NET.
/// </summary>
public sealed class LifecycleStore(AuditDatabase database)
{
    /// <summary>How long an ended or expired silence stays in the default list.</summary>
    public static readonly TimeSpan EndedListedFor = TimeSpan.FromDays(7);

    private const string SilenceColumns =
        "id, project_id, region, alerts, principal_id, source_ip, starts_at, ends_at, weekly_days, weekly_start, weekly_duration, time_zone, " +
        "reason, created_by, created_at, ended_at, ended_by, end_comment, rules";

    public Task InsertSilenceAsync(AlertSilence silence, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            var weekly = silence.Weekly;
            await using var insert = Command(connection, transaction,
                $"INSERT INTO alert_silences ({SilenceColumns}) VALUES (@id, @p, @r, @a, @pr, @ip, @s, @e, @wd, @ws, @wl, @tz, @reason, @by, @at, NULL, NULL, NULL, @rules)",
                ("@id", silence.Id), ("@p", silence.ProjectId), ("@r", silence.Region), ("@a", string.Join(',', silence.Alerts)),
                ("@pr", silence.PrincipalId), ("@ip", silence.SourceIp),
                ("@s", DbTime.ToMicros(silence.StartsAt)), ("@e", silence.EndsAt is { } e ? DbTime.ToMicros(e) : null),
                ("@wd", weekly is null ? null : (int)weekly.Days), ("@ws", weekly is null ? null : (int)weekly.StartTime.TotalMinutes),
                ("@wl", weekly is null ? null : (int)weekly.Duration.TotalMinutes), ("@tz", weekly?.TimeZone),
                ("@reason", silence.Reason), ("@by", silence.CreatedBy), ("@at", DbTime.ToMicros(silence.CreatedAt)),
                ("@rules", silence.Rules.Count == 0 ? null : string.Join(',', silence.Rules)));
            return await insert.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    /// <summary>Silences of a project not yet ended or expired at <paramref name="now"/>.</summary>
    public async Task<int> CountInForceAsync(string projectId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT COUNT(*) FROM alert_silences WHERE project_id = @p AND ended_at IS NULL AND (ends_at IS NULL OR ends_at > @now)",
            ("@p", projectId), ("@now", DbTime.ToMicros(now)));
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>A project's silences, newest first, with their state at <paramref name="now"/> and what they held.</summary>
    public async Task<IReadOnlyList<AlertSilence>> ListSilencesAsync(string projectId, bool includeEnded, DateTimeOffset now, string? silenceId = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var silences = new List<AlertSilence>();
        await using (var command = Command(connection, null,
            $"SELECT {SilenceColumns} FROM alert_silences WHERE project_id = @p" + (silenceId is null ? "" : " AND id = @id") + " ORDER BY created_at DESC, id DESC LIMIT @n",
            ("@p", projectId), ("@id", silenceId), ("@n", SilenceLimits.MaxListed)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                silences.Add(ReadSilence(reader));
            }
        }

        var listed = new List<AlertSilence>(silences.Count);
        foreach (var silence in silences)
        {
            var state = SilenceSchedule.StateAt(silence, now);
            var endedAt = state switch
            {
                SilenceState.Ended => silence.EndedAt,
                SilenceState.Expired => silence.EndsAt,
                _ => null,
            };
            if (silenceId is null && !includeEnded && endedAt is { } end && end < now - EndedListedFor)
            {
                continue;
            }

            listed.Add(silence with { State = state, NextChangeAt = SilenceSchedule.NextChange(silence, now) });
        }

        if (listed.Count == 0)
        {
            return listed;
        }

        var held = new Dictionary<string, (int Count, DateTimeOffset Last)>(StringComparer.Ordinal);
        foreach (var chunk in listed.Chunk(500))
        {
            await using var command = connection.CreateCommand();
            var names = InList(command, chunk.Select(static s => s.Id));
            command.CommandText =
                $"SELECT f.silence_id, COUNT(*), MAX(a.triggered_at) FROM fired_alert_silences f JOIN fired_alerts a ON a.id = f.alert_id WHERE f.silence_id IN ({names}) GROUP BY f.silence_id";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                held[reader.GetString(0)] = (Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture), DbTime.FromMicros(reader.GetInt64(2)));
            }
        }

        return [.. listed.Select(s => held.TryGetValue(s.Id, out var h) ? s with { HeldFirings = h.Count, LastHeldAt = h.Last } : s)];
    }

    /// <summary>Ends a silence at <paramref name="now"/> unless it already ended or expired; false when the project has no such silence.</summary>
    public Task<bool> EndSilenceAsync(string projectId, string silenceId, DateTimeOffset now, string keyId, string? comment, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using (var update = Command(connection, transaction,
                "UPDATE alert_silences SET ended_at = @now, ended_by = @by, end_comment = @c WHERE project_id = @p AND id = @id AND ended_at IS NULL AND (ends_at IS NULL OR ends_at > @now)",
                ("@now", DbTime.ToMicros(now)), ("@by", keyId), ("@c", comment), ("@p", projectId), ("@id", silenceId)))
            {
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var exists = Command(connection, transaction, "SELECT COUNT(*) FROM alert_silences WHERE project_id = @p AND id = @id", ("@p", projectId), ("@id", silenceId));
            return Convert.ToInt32(await exists.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
        }, cancellationToken);

    /// <summary>
    /// The silence that holds <paramref name="firing"/> (the oldest when several do), read in the
    /// firing's transaction; null when none does.
    /// </summary>
    public static async Task<AlertSilence?> FindHoldingAsync(DbConnection connection, DbTransaction transaction, FiredAlert firing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(firing);
        var at = DbTime.ToMicros(firing.TriggeredAt);
        await using var command = Command(connection, transaction,
            $"SELECT {SilenceColumns} FROM alert_silences WHERE project_id = @p AND starts_at <= @t AND (ends_at IS NULL OR ends_at > @t) " +
            "AND (ended_at IS NULL OR ended_at > @t) AND (region IS NULL OR region = @r) ORDER BY created_at, id",
            ("@p", firing.ProjectId), ("@t", at), ("@r", firing.Region));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var silence = ReadSilence(reader);
            if (SilenceSchedule.Holds(silence, firing))
            {
                return silence;
            }
        }

        return null;
    }

    /// <summary>Records that a silence held a firing, in the firing's transaction.</summary>
    public static async Task RecordHeldAsync(DbConnection connection, DbTransaction transaction, string firingId, string silenceId, CancellationToken cancellationToken)
    {
        await using var insert = Command(connection, transaction,
            "INSERT INTO fired_alert_silences (alert_id, silence_id) VALUES (@a, @s)", ("@a", firingId), ("@s", silenceId));
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Records that <paramref name="keyId"/> took or closed a firing of the project. Returns
    /// false when the project has no such firing; throws <see cref="InvalidOperationException"/>
    /// when it is already closed.
    /// </summary>
    public Task<bool> AcknowledgeAsync(string projectId, string firingId, FiringAction action, string keyId, string? comment, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await using (var exists = Command(connection, transaction, "SELECT COUNT(*) FROM fired_alerts WHERE id = @id AND project_id = @p", ("@id", firingId), ("@p", projectId)))
            {
                if (Convert.ToInt32(await exists.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
                {
                    return false;
                }
            }

            await using (var closed = Command(connection, transaction,
                "SELECT key_id, at FROM alert_acknowledgements WHERE alert_id = @id AND action = @closed ORDER BY at LIMIT 1", ("@id", firingId), ("@closed", (int)FiringAction.Closed)))
            await using (var reader = await closed.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    throw new InvalidOperationException(
                        $"Firing {firingId} was closed by key {reader.GetString(0)} at {AuditEventJson.FormatTime(DbTime.FromMicros(reader.GetInt64(1)))}: a closed firing cannot be taken or closed again.");
                }
            }

            // One step per firing, action and microsecond: a repeat in the same microsecond is the same step.
            await using var insert = Command(connection, transaction,
                "INSERT INTO alert_acknowledgements (alert_id, at, action, key_id, comment) VALUES (@id, @at, @a, @k, @c) ON CONFLICT DO NOTHING",
                ("@id", firingId), ("@at", DbTime.ToMicros(now)), ("@a", (int)action), ("@k", keyId), ("@c", comment));
            await insert.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>Adds the parameters of an IN list and returns their names.</summary>
    internal static string InList(DbCommand command, IEnumerable<string> values) =>
        string.Join(", ", values.Select((value, i) =>
        {
            AddParameter(command, $"@v{i}", value);
            return $"@v{i}";
        }));

    private static AlertSilence ReadSilence(DbDataReader reader)
    {
        WeeklyWindow? weekly = reader.IsDBNull(8) ? null : new WeeklyWindow
        {
            Days = (WeekDays)Convert.ToInt32(reader.GetValue(8), CultureInfo.InvariantCulture),
            StartTime = TimeSpan.FromMinutes(Convert.ToInt32(reader.GetValue(9), CultureInfo.InvariantCulture)),
            Duration = TimeSpan.FromMinutes(Convert.ToInt32(reader.GetValue(10), CultureInfo.InvariantCulture)),
            TimeZone = reader.GetString(11),
        };
        return new AlertSilence
        {
            Id = reader.GetString(0),
            ProjectId = reader.GetString(1),
            Region = reader.IsDBNull(2) ? null : reader.GetString(2),
            Alerts = [.. reader.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(static a => Enum.Parse<AlertName>(a))],
            PrincipalId = reader.IsDBNull(4) ? null : reader.GetString(4),
            SourceIp = reader.IsDBNull(5) ? null : reader.GetString(5),
            StartsAt = DbTime.FromMicros(reader.GetInt64(6)),
            EndsAt = reader.IsDBNull(7) ? null : DbTime.FromMicros(reader.GetInt64(7)),
            Weekly = weekly,
            Reason = reader.GetString(12),
            CreatedBy = reader.GetString(13),
            CreatedAt = DbTime.FromMicros(reader.GetInt64(14)),
            EndedAt = reader.IsDBNull(15) ? null : DbTime.FromMicros(reader.GetInt64(15)),
            EndedBy = reader.IsDBNull(16) ? null : reader.GetString(16),
            EndComment = reader.IsDBNull(17) ? null : reader.GetString(17),
            Rules = reader.IsDBNull(18) ? [] : reader.GetString(18).Split(',', StringSplitOptions.RemoveEmptyEntries),
        };
    }
}
