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

    /// <summary>Encodes text for an element body or a quoted attribute value.</summary>
    public static string Encode(string? text) => text is null ? "" : Encoder.Encode(text);

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
