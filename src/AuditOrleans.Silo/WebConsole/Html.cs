using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace AuditOrleans.Silo.WebConsole;

/// <summary>
/// A fragment of HTML. Built with <see cref="Of"/>, an interpolated string whose literal parts
/// are markup and whose holes are text: every hole is HTML-encoded unless it is itself an
/// <see cref="Html"/> fragment. That makes escaping the default rather than a thing to remember.
/// </summary>
public readonly struct Html
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly string? value;

    private Html(string value) => this.value = value;

    public static Html Empty { get; } = new("");

    /// <summary>Builds a fragment: literals are markup, holes are encoded text.</summary>
    public static Html Of(ref Builder builder) => new(builder.ToStringAndClear());

    /// <summary>Markup written by this program (never user input).</summary>
    public static Html Raw(string markup) => new(markup);

    /// <summary>Joins fragments.</summary>
    public static Html Join(IEnumerable<Html> parts) => new(string.Concat(parts.Select(static p => p.ToString())));

    /// <summary>
    /// Encodes text for an element body or a quoted attribute value, after making invisible
    /// characters visible (<see cref="Visible"/>).
    /// </summary>
    public static string Encode(string? text) => text is null ? "" : Encoder.Encode(Visible(text));

    /// <summary>
    /// Replaces each character that would be invisible or would change how the text around it
    /// reads with its code as text, <c>\u202E</c> (<c>\u{E0041}</c> beyond the BMP): bidirectional
    /// overrides and isolates, zero-width and other format characters, controls other than tab
    /// and line breaks, line and paragraph separators, Hangul fillers and unpaired surrogates.
    /// Events come from outside: a user agent with U+202E must not be able to reverse what the
    /// console shows after it, nor a U+200B hide in a principal id. (HTML-encoding alone is not
    /// enough: a browser renders <c>&amp;#x202E;</c> as the override itself.)
    /// </summary>
    public static string Visible(string text)
    {
        var first = 0;
        while (first < text.Length && !IsHidden(text, first, out var skip))
        {
            first += skip;
        }

        if (first == text.Length)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (var i = first; i < text.Length;)
        {
            var hidden = IsHidden(text, i, out var width);
            if (hidden)
            {
                var codePoint = width == 2 ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
                builder.Append(codePoint <= 0xFFFF
                    ? string.Create(CultureInfo.InvariantCulture, $"\\u{codePoint:X4}")
                    : string.Create(CultureInfo.InvariantCulture, $"\\u{{{codePoint:X}}}"));
            }
            else
            {
                builder.Append(text, i, width);
            }

            i += width;
        }

        return builder.ToString();
    }

    private static bool IsHidden(string text, int index, out int width)
    {
        var c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            width = 2;
            return CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[index + 1])) is UnicodeCategory.Format;
        }

        width = 1;
        if (char.IsSurrogate(c))
        {
            return true;
        }

        return c switch
        {
            '\t' or '\n' or '\r' => false,
            '\u115F' or '\u1160' or '\u3164' or '\uFFA0' => true,
            _ => CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.Control
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator,
        };
    }

    public override string ToString() => value ?? "";

    [InterpolatedStringHandler]
    public ref struct Builder
    {
        private StringBuilder? builder;

        public Builder(int literalLength, int formattedCount) => builder = new StringBuilder(literalLength + (formattedCount * 16));

        public readonly void AppendLiteral(string markup) => builder!.Append(markup);

        public readonly void AppendFormatted(Html fragment) => builder!.Append(fragment.ToString());

        public readonly void AppendFormatted(IEnumerable<Html> fragments)
        {
            foreach (var fragment in fragments)
            {
                builder!.Append(fragment.ToString());
            }
        }

        public readonly void AppendFormatted(string? text) => builder!.Append(Encode(text));

        public readonly void AppendFormatted<T>(T value)
        {
            switch (value)
            {
                case Html fragment:
                    builder!.Append(fragment.ToString());
                    break;
                case IEnumerable<Html> fragments:
                    AppendFormatted(fragments);
                    break;
                case IFormattable formattable:
                    builder!.Append(Encode(formattable.ToString(null, CultureInfo.InvariantCulture)));
                    break;
                default:
                    builder!.Append(Encode(value?.ToString()));
                    break;
            }
        }

        public string ToStringAndClear()
        {
            var text = builder!.ToString();
            builder = null;
            return text;
        }
    }
}
