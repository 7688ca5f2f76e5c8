using System.Text;

namespace AuditOrleans.Grains.Rules;

/// <summary>
/// Reads a rule's query as CEL tokens before the CEL package sees it (docs/rules.md, How a query is
/// checked). The package's parser recurses once per nesting level and overflows the stack (which
/// ends the process) on a deeply nested query, silently skips characters that are no CEL token,
/// and resolves field and function names only when it evaluates: this scanner refuses those
/// queries first, with the position, and finds the cheap pre-filter of a query.
/// </summary>
internal sealed partial class RuleQueryScanner
{
    /// <summary>How deep brackets may nest, how many selections may chain, how many conditionals and operators a query may hold.</summary>
    public const int MaxNesting = 32;

    public const int MaxSelectionChain = 16;

    public const int MaxConditionals = 16;

    public const int MaxOperators = 256;

    private static readonly HashSet<string> Methods = new(StringComparer.Ordinal)
    {
        "size", "startsWith", "endsWith", "contains", "matches", "exists", "all", "exists_one", "map", "filter",
        "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    };

    private static readonly HashSet<string> Functions = new(StringComparer.Ordinal)
    {
        "size", "has", "int", "uint", "double", "string", "bytes", "bool", "timestamp", "duration", "dyn", "type", "matches",
    };

    private static readonly HashSet<string> Macros = new(StringComparer.Ordinal) { "exists", "all", "exists_one", "map", "filter" };

    private static readonly HashSet<string> Constants = new(StringComparer.Ordinal)
    {
        "true", "false", "null", "in", "int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type", "dyn",
    };

    private static readonly string[] TwoCharOperators = ["==", "!=", "<=", ">=", "&&", "||"];

    private readonly string query;
    private readonly List<Token> tokens = [];

    private RuleQueryScanner(string query) => this.query = query;

    private enum TokenKind
    {
        Identifier,
        Number,
        String,
        Operator,
    }

    /// <summary>Scans and checks a query; throws <see cref="RuleQueryException"/> at the first problem.</summary>
    public static RuleQueryScanner Check(string query)
    {
        var scanner = new RuleQueryScanner(query);
        scanner.Scan();
        scanner.CheckStructure();
        scanner.CheckNames();
        return scanner;
    }

    private void Scan()
    {
        var i = 0;
        while (i < query.Length)
        {
            var c = query[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < query.Length && (char.IsAsciiLetterOrDigit(query[i]) || query[i] == '_'))
                {
                    i++;
                }

                // A string prefix: r'raw', b'bytes', rb'...'.
                if (i < query.Length && query[i] is '\'' or '"' && query.AsSpan(start, i - start).ToString().ToLowerInvariant() is "r" or "b" or "rb" or "br")
                {
                    i = ScanString(start, i);
                    continue;
                }

                tokens.Add(new Token(TokenKind.Identifier, query[start..i], start, null));
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < query.Length && char.IsAsciiDigit(query[i + 1])))
            {
                var start = i;
                while (i < query.Length && (char.IsAsciiLetterOrDigit(query[i]) || query[i] == '.'
                    || (query[i] is '+' or '-' && query[i - 1] is 'e' or 'E' && !query[start..i].StartsWith("0x", StringComparison.OrdinalIgnoreCase))))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Number, query[start..i], start, null));
            }
            else if (c is '\'' or '"')
            {
                i = ScanString(i, i);
            }
            else if (i + 1 < query.Length && TwoCharOperators.Contains(query.Substring(i, 2)))
            {
                tokens.Add(new Token(TokenKind.Operator, query.Substring(i, 2), i, null));
                i += 2;
            }
            else if ("+-*/%!<>?:.,()[]{}".Contains(c, StringComparison.Ordinal))
            {
                tokens.Add(new Token(TokenKind.Operator, c.ToString(), i, null));
                i++;
            }
            else
            {
                var what = c switch
                {
                    '&' => "'&' alone is no CEL operator (use && for 'and')",
                    '|' => "'|' alone is no CEL operator (use || for 'or')",
                    '=' => "'=' alone is no CEL operator (use == to compare)",
                    _ => $"the character '{Scope.Printable(c.ToString())}' (U+{(int)c:X4}) is not part of CEL",
                };
                throw Error(i, what);
            }
        }
    }

    /// <summary>Reads a string literal whose prefix starts at <paramref name="start"/> and quote at <paramref name="quote"/>; returns the index after it.</summary>
    private int ScanString(int start, int quote)
    {
        var prefix = query[start..quote].ToLowerInvariant();
        var raw = prefix.Contains('r', StringComparison.Ordinal);
        var q = query[quote];
        var triple = quote + 2 < query.Length && query[quote + 1] == q && query[quote + 2] == q;
        var i = quote + (triple ? 3 : 1);
        var value = new StringBuilder();
        var plain = !raw && prefix.Length == 0;
        while (true)
        {
            if (i >= query.Length)
            {
                throw Error(start, "this string is not closed: end it with the quote it starts with");
            }

            var c = query[i];
            if (!triple && c is '\n' or '\r')
            {
                throw Error(start, "this string is not closed on its line: end it with the quote it starts with");
            }

            if (triple ? c == q && i + 2 < query.Length && query[i + 1] == q && query[i + 2] == q : c == q)
            {
                i += triple ? 3 : 1;
                break;
            }

            if (c == '\\' && !raw)
            {
                plain = false;
                i += 2;
                continue;
            }

            value.Append(c);
            i++;
        }

        tokens.Add(new Token(TokenKind.String, query[start..i], start, plain ? value.ToString() : null));
        return i;
    }

    private void CheckStructure()
    {
        int depth = 0, conditionals = 0, operators = 0, chain = 0;
        foreach (var t in tokens)
        {
            if (t.Kind != TokenKind.Operator)
            {
                continue;
            }

            switch (t.Text)
            {
                case "(" or "[" or "{":
                    if (++depth > MaxNesting)
                    {
                        throw Error(t.Position, $"brackets nest more than {MaxNesting} levels deep here: flatten the query");
                    }

                    break;
                case ")" or "]" or "}":
                    depth--;
                    break;
                case "?":
                    if (++conditionals > MaxConditionals)
                    {
                        throw Error(t.Position, $"the query holds more than {MaxConditionals} conditionals (?:): split it into several rules");
                    }

                    break;
                case "." or ",":
                    break;
                default:
                    if (++operators > MaxOperators)
                    {
                        throw Error(t.Position, $"the query holds more than {MaxOperators} operators: split it into several rules");
                    }

                    break;
            }
        }

        for (var i = 0; i < tokens.Count; i++)
        {
            chain = tokens[i] is { Kind: TokenKind.Operator, Text: "." } ? chain + 1 : tokens[i].Kind == TokenKind.Identifier ? chain : 0;
            if (chain > MaxSelectionChain)
            {
                throw Error(tokens[i].Position, $"more than {MaxSelectionChain} field selections chain here: shorten the path");
            }
        }
    }

    private void CheckNames()
    {
        var bound = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t.Kind != TokenKind.Identifier)
            {
                continue;
            }

            var afterDot = i > 0 && tokens[i - 1] is { Kind: TokenKind.Operator, Text: "." };
            var call = i + 1 < tokens.Count && tokens[i + 1] is { Kind: TokenKind.Operator, Text: "(" };
            if (call)
            {
                if (afterDot ? !Methods.Contains(t.Text) : !Functions.Contains(t.Text))
                {
                    throw Error(t.Position, $"the function '{t.Text}' is not available in this engine (docs/rules.md lists what it supports)");
                }

                if (afterDot && Macros.Contains(t.Text) && i + 3 < tokens.Count && tokens[i + 2].Kind == TokenKind.Identifier
                    && tokens[i + 3] is { Kind: TokenKind.Operator, Text: "," })
                {
                    bound.Add(tokens[i + 2].Text);
                    i += 2;
                }

                continue;
            }

            if (afterDot)
            {
                // A field of event (event.x) or of event.principal (event.principal.x).
                if (i >= 2 && tokens[i - 2] is { Kind: TokenKind.Identifier, Text: "event" } && (i < 3 || tokens[i - 3] is not { Text: "." })
                    && !RuleEvent.Fields.ContainsKey(t.Text))
                {
                    throw Error(t.Position, $"event has no field '{t.Text}'. Its fields: {string.Join(", ", RuleEvent.Fields.Keys)}");
                }

                if (i >= 4 && tokens[i - 2] is { Text: "principal" } && tokens[i - 4] is { Text: "event" } && t.Text != "id")
                {
                    throw Error(t.Position, $"event.principal has no field '{t.Text}': its only field is id");
                }

                continue;
            }

            if (t.Text != "event" && !Constants.Contains(t.Text) && !bound.Contains(t.Text))
            {
                throw Error(t.Position, $"'{t.Text}' is not declared: the query sees one variable, event (event.{t.Text}?)");
            }
        }
    }

    private RuleQueryException Error(int index, string reason)
    {
        var (line, column) = Position(query, index);
        return new RuleQueryException($"The query is refused at line {line}, column {column}: {reason}.", line, column, reason);
    }

    /// <summary>1-based line and column of a character index.</summary>
    public static (int Line, int Column) Position(string text, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, index - lineStart + 1);
    }

    private sealed record Token(TokenKind Kind, string Text, int Position, string? Value);
}
