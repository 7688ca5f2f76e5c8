using System.Globalization;

namespace AuditOrleans.Silo.WebConsole.Charts;

/// <summary>
/// Charts drawn on the server as inline SVG: no script, no style attribute (the
/// Content-Security-Policy allows neither), colours from console.css classes. Each chart is an
/// image with a title and a description for screen readers; each bar and mark has a tooltip
/// (an SVG title). The pages show the same numbers as text next to each chart.
/// </summary>
public static class SvgChart
{
    public const int Width = 960;
    private const int Left = 48;
    private const int Right = 12;
    private const int Top = 12;
    private const int AxisHeight = 22;

    /// <summary>
    /// A bar chart over time: one bar per bucket, its <see cref="ChartBar.Highlight"/> part drawn
    /// over it in the alert colour; an optional threshold line and vertical marks (firings).
    /// </summary>
    public static Html Bars(string id, string title, string description, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<ChartBar> bars,
        ChartThreshold? threshold = null, IReadOnlyList<ChartMark>? marks = null, int height = 180, ChartBand? band = null, Html legend = default)
    {
        var plotWidth = Width - Left - Right;
        var plotHeight = height - Top - AxisHeight;
        var axis = new TimeAxis(from, to, Left, plotWidth);
        var max = Math.Max(1, bars.Count == 0 ? 0 : bars.Max(static b => b.Value));
        if (threshold is { } t)
        {
            max = Math.Max(max, t.Value * 1.15);
        }

        max = NiceCeiling(max);
        double Y(double value) => Top + plotHeight - (value / max * plotHeight);
        var parts = new List<Html>();
        if (band is { } bd)
        {
            var bx = axis.X(bd.From);
            parts.Add(Html.Of($"<g class=\"band\"><title>{bd.Label}</title><rect x=\"{N(bx)}\" y=\"{Top}\" width=\"{N(Math.Max(2, axis.X(bd.To) - bx))}\" height=\"{plotHeight}\"/></g>"));
        }

        parts.AddRange(
        [
            Html.Of($"<line class=\"axis\" x1=\"{Left}\" y1=\"{N(Top + plotHeight)}\" x2=\"{Left + plotWidth}\" y2=\"{N(Top + plotHeight)}\"/>"),
        ]);
        foreach (var level in new[] { max / 2, max })
        {
            parts.Add(Html.Of($"<line class=\"grid\" x1=\"{Left}\" y1=\"{N(Y(level))}\" x2=\"{Left + plotWidth}\" y2=\"{N(Y(level))}\"/><text class=\"y\" x=\"{Left - 6}\" y=\"{N(Y(level) + 4)}\" text-anchor=\"end\">{N(level)}</text>"));
        }

        parts.Add(Html.Of($"<text class=\"y\" x=\"{Left - 6}\" y=\"{N(Top + plotHeight + 4)}\" text-anchor=\"end\">0</text>"));
        foreach (var bar in bars)
        {
            var x0 = axis.X(bar.Start);
            var x1 = axis.X(bar.End);
            var w = Math.Max(1, x1 - x0 - (x1 - x0 > 4 ? 1 : 0));
            var main = bar.Value <= 0 ? Html.Empty : Html.Of($"<rect class=\"bar\" x=\"{N(x0)}\" y=\"{N(Y(bar.Value))}\" width=\"{N(w)}\" height=\"{N(Top + plotHeight - Y(bar.Value))}\"/>");
            var hl = bar.Highlight is not > 0 ? Html.Empty : Html.Of($"<rect class=\"bar hl\" x=\"{N(x0)}\" y=\"{N(Y(bar.Highlight.Value))}\" width=\"{N(w)}\" height=\"{N(Top + plotHeight - Y(bar.Highlight.Value))}\"/>");
            // An invisible full-height target, so that the tooltip shows over an empty bucket too.
            parts.Add(Html.Of($"<g><title>{bar.Tooltip}</title><rect class=\"hit\" x=\"{N(x0)}\" y=\"{Top}\" width=\"{N(Math.Max(1, x1 - x0))}\" height=\"{plotHeight}\"/>{main}{hl}</g>"));
        }

        if (threshold is { } th)
        {
            parts.Add(Html.Of($"<line class=\"threshold\" x1=\"{Left}\" y1=\"{N(Y(th.Value))}\" x2=\"{Left + plotWidth}\" y2=\"{N(Y(th.Value))}\"/><text class=\"threshold-label\" x=\"{Left + plotWidth - 4}\" y=\"{N(Y(th.Value) - 4)}\" text-anchor=\"end\">{th.Label}</text>"));
        }

        foreach (var mark in marks ?? [])
        {
            var x = axis.X(mark.At);
            parts.Add(Link(mark.Href, Html.Of($"<g class=\"mark\"><title>{mark.Tooltip}</title><line x1=\"{N(x)}\" y1=\"{Top}\" x2=\"{N(x)}\" y2=\"{Top + plotHeight}\"/><circle cx=\"{N(x)}\" cy=\"{Top + 3}\" r=\"4\"/></g>")));
        }

        parts.Add(axis.Labels(Top + plotHeight + 15));
        return Frame(id, title, description, height, parts, legend);
    }

    /// <summary>
    /// Lanes over one time axis: each lane a label and its points (events, key changes, firings),
    /// each point with its tooltip and, when it has one, a link.
    /// </summary>
    public static Html Lanes(string id, string title, string description, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<ChartLane> lanes, IReadOnlyList<ChartMark>? marks = null, Html legend = default)
    {
        const int laneHeight = 26;
        const int labelWidth = 190;
        var plotWidth = Width - labelWidth - Right;
        var height = Top + (lanes.Count * laneHeight) + AxisHeight;
        var axis = new TimeAxis(from, to, labelWidth, plotWidth);
        var parts = new List<Html>();
        for (var i = 0; i < lanes.Count; i++)
        {
            var lane = lanes[i];
            var y = Top + (i * laneHeight) + (laneHeight / 2);
            var (label, _) = ConsoleFormat.Shorten(lane.Label, 28);
            parts.Add(Html.Of($"<g><title>{lane.Label}</title><text class=\"lane\" x=\"{labelWidth - 8}\" y=\"{y + 4}\" text-anchor=\"end\">{label}</text></g><line class=\"grid\" x1=\"{labelWidth}\" y1=\"{y}\" x2=\"{labelWidth + plotWidth}\" y2=\"{y}\"/>"));
            foreach (var point in lane.Points)
            {
                var x = axis.X(point.At);
                var shape = point.Kind == ChartPointKind.Key
                    ? Html.Of($"<rect class=\"pt {point.Css}\" x=\"{N(x - 5)}\" y=\"{y - 5}\" width=\"10\" height=\"10\" transform=\"rotate(45 {N(x)} {y})\"/>")
                    : Html.Of($"<circle class=\"pt {point.Css}\" cx=\"{N(x)}\" cy=\"{y}\" r=\"5\"/>");
                parts.Add(Link(point.Href, Html.Of($"<g><title>{point.Tooltip}</title>{shape}</g>")));
            }
        }

        foreach (var mark in marks ?? [])
        {
            var x = axis.X(mark.At);
            parts.Add(Link(mark.Href, Html.Of($"<g class=\"mark\"><title>{mark.Tooltip}</title><line x1=\"{N(x)}\" y1=\"{Top - 6}\" x2=\"{N(x)}\" y2=\"{height - AxisHeight}\"/><circle cx=\"{N(x)}\" cy=\"{Top - 3}\" r=\"4\"/></g>")));
        }

        parts.Add(Html.Of($"<line class=\"axis\" x1=\"{labelWidth}\" y1=\"{height - AxisHeight}\" x2=\"{labelWidth + plotWidth}\" y2=\"{height - AxisHeight}\"/>"));
        parts.Add(axis.Labels(height - AxisHeight + 15));
        return Frame(id, title, description, height, parts, legend);
    }

    /// <summary>A legend entry: a swatch of a chart's colour (bar, hl, mark, band) and what it means.</summary>
    public static Html Legend(string swatch, string text) => Html.Of($"<span class=\"legend {swatch}\" aria-hidden=\"true\"></span>{text}");

    private static Html Frame(string id, string title, string description, int height, List<Html> parts, Html legend) => Html.Of($"""
        <figure class="chart">
        <svg class="chart" viewBox="0 0 {Width} {height}" role="img" aria-labelledby="{id}-title {id}-desc" id="{id}" focusable="false">
        <title id="{id}-title">{title}</title>
        <desc id="{id}-desc">{description}</desc>
        {parts}
        </svg>
        <figcaption>{title}{legend}</figcaption>
        </figure>
        """);

    private static Html Link(string? href, Html content) =>
        href is null ? content : Html.Of($"<a href=\"{href}\">{content}</a>");

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="value"/>.</summary>
    public static double NiceCeiling(double value)
    {
        if (value <= 1)
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 2, 5, 10 })
        {
            if (step * power >= value)
            {
                return step * power;
            }
        }

        return 10 * power;
    }

    internal static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>Maps times onto x and writes the tick labels (UTC).</summary>
    private sealed class TimeAxis(DateTimeOffset from, DateTimeOffset to, double left, double width)
    {
        private readonly double span = Math.Max(1, (to - from).Ticks);

        public double X(DateTimeOffset at) => left + (Math.Clamp((at - from).Ticks, 0, span) / span * width);

        public Html Labels(double y)
        {
            var range = to - from;
            var step = new[]
            {
                TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30),
                TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromDays(1), TimeSpan.FromDays(2), TimeSpan.FromDays(7),
            }.FirstOrDefault(s => range / s <= 8, TimeSpan.FromDays(7));
            var format = step >= TimeSpan.FromDays(1) ? "MM-dd" : range > TimeSpan.FromDays(1) ? "MM-dd HH:mm" : "HH:mm";
            var first = new DateTimeOffset(((from.UtcTicks + step.Ticks - 1) / step.Ticks) * step.Ticks, TimeSpan.Zero);
            var labels = new List<Html>();
            for (var t = first; t <= to; t += step)
            {
                var x = X(t);
                if (x > left + width - 18)
                {
                    break; // a label at the right edge would be cut
                }

                labels.Add(Html.Of($"<line class=\"tick\" x1=\"{N(x)}\" y1=\"{N(y - 15)}\" x2=\"{N(x)}\" y2=\"{N(y - 11)}\"/><text class=\"x\" x=\"{N(x)}\" y=\"{N(y)}\" text-anchor=\"middle\">{t.UtcDateTime.ToString(format, CultureInfo.InvariantCulture)}</text>"));
            }

            return Html.Join(labels);
        }
    }
}
