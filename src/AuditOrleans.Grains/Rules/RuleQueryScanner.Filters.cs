namespace AuditOrleans.Grains.Rules;

/// <summary>
/// What a checked query needs of an event, read from its tokens: the conditions every match
/// requires (the rule's cheap pre-filter, docs/rules.md) and whether it reads the request body.
/// </summary>
internal sealed partial class RuleQueryScanner
{
    /// <summary>
    /// The equality conditions on text fields that the whole query requires (top-level <c>&amp;&amp;</c>
    /// terms such as <c>event.kind == 'authentication'</c> or <c>event.method_name in ['A', 'B']</c>):
    /// an event whose field holds none of the values cannot match, whatever the rest says.
    /// </summary>
    public IReadOnlyList<RuleFilter> Filters()
    {
        var filters = new List<RuleFilter>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= tokens.Count; i++)
        {
            if (i < tokens.Count)
            {
                var t = tokens[i];
                if (t.Kind == TokenKind.Operator)
                {
                    depth += t.Text is "(" or "[" or "{" ? 1 : t.Text is ")" or "]" or "}" ? -1 : 0;
                    if (depth == 0 && t.Text is "||" or "?")
                    {
                        return [];
                    }
                }

                if (!(depth == 0 && t.Kind == TokenKind.Operator && t.Text == "&&"))
                {
                    continue;
                }
            }

            if (Term(start, i) is { } filter)
            {
                filters.Add(filter);
            }

            start = i + 1;
        }

        return filters;
    }

    /// <summary>True when the query reads <c>event.request_body</c> (the body is parsed for it only then).</summary>
    public bool UsesRequestBody => tokens.Any(static t => t.Kind == TokenKind.Identifier && t.Text == "request_body");

    private RuleFilter? Term(int from, int to)
    {
        var n = to - from;
        bool Is(int i, TokenKind kind, string? text = null) => i < n && tokens[from + i].Kind == kind && (text is null || tokens[from + i].Text == text);

        // event.x (length 3) or event.principal.id (length 5), for a field the pre-filter reads.
        (string Name, int Length)? Field(int at)
        {
            if (!(Is(at, TokenKind.Identifier, "event") && Is(at + 1, TokenKind.Operator, ".") && Is(at + 2, TokenKind.Identifier)))
            {
                return null;
            }

            if (Is(at + 3, TokenKind.Operator, ".") && Is(at + 4, TokenKind.Identifier))
            {
                var path = $"{tokens[from + at + 2].Text}.{tokens[from + at + 4].Text}";
                return RuleEvent.Text(new AuditEvent(), path) is not null ? (path, 5) : null;
            }

            var name = tokens[from + at + 2].Text;
            return RuleEvent.Text(new AuditEvent(), name) is not null ? (name, 3) : null;
        }

        // A literal of the field's type: text for text fields, a decimal integer for status_code.
        string? Literal(int i, string field) =>
            field == "status_code"
                ? Is(i, TokenKind.Number) && tokens[from + i].Text.All(char.IsAsciiDigit) && tokens[from + i].Text.Length <= 9
                    ? int.Parse(tokens[from + i].Text, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : null
                : Is(i, TokenKind.String) ? tokens[from + i].Value : null;

        if (Field(0) is { } left && n == left.Length + 2 && Is(left.Length, TokenKind.Operator, "==") && Literal(left.Length + 1, left.Name) is { } v1)
        {
            return new RuleFilter(left.Name, [v1]);
        }

        if (n >= 5 && Is(1, TokenKind.Operator, "==") && Field(2) is { } right && n == right.Length + 2 && Literal(0, right.Name) is { } v2)
        {
            return new RuleFilter(right.Name, [v2]);
        }

        if (Field(0) is { } list && n >= list.Length + 4 && Is(list.Length, TokenKind.Identifier, "in") && Is(list.Length + 1, TokenKind.Operator, "[") && Is(n - 1, TokenKind.Operator, "]"))
        {
            var values = new List<string>();
            var first = list.Length + 2;
            for (var i = first; i < n - 1; i++)
            {
                var value = (i - first) % 2 == 0 ? Literal(i, list.Name) : null;
                if ((i - first) % 2 == 0 ? value is null : !Is(i, TokenKind.Operator, ","))
                {
                    return null;
                }

                if (value is not null)
                {
                    values.Add(value);
                }
            }

            return values.Count > 0 ? new RuleFilter(list.Name, [.. values]) : null;
        }

        return null;
    }
}

/// <summary>A condition a query requires: the text field <see cref="Field"/> of the event holds one of <see cref="Values"/>.</summary>
public sealed record RuleFilter(string Field, string[] Values)
{
    public bool Admits(AuditEvent e)
    {
        var value = RuleEvent.Text(e, Field);
        foreach (var v in Values)
        {
            if (string.Equals(v, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
