using System.Globalization;
using System.Text;

namespace RequestArena.LoadTest;

/// <summary>A line chart per mode over a logarithmic x axis (allocations or connections), whiskers min–max.</summary>
internal static class SweepChart
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One mode's points, in order of x.</summary>
    internal sealed record Line(string Mode, (double X, Spread Y)[] Points);

    public static string Svg(string title, string xLabel, string yLabel, IReadOnlyList<Line> lines)
    {
        const int width = 640, height = 380, left = 70, right = 130, top = 40, bottom = 50;
        const int plotWidth = width - left - right, plotHeight = height - top - bottom;
        double[] xs = [.. lines.SelectMany(l => l.Points).Select(p => p.X).Where(x => x > 0).Distinct().Order()];
        double[] ys = [.. lines.SelectMany(l => l.Points).SelectMany(p => new[] { p.Y.Min, p.Y.Median, p.Y.Max }).Where(y => !double.IsNaN(y))];
        double yMax = ys.Length == 0 || ys.Max() <= 0 ? 1 : NiceCeiling(ys.Max());

        // Zero stays on the axis; a difference of noisy figures can go below it.
        double yMin = ys.Length == 0 || ys.Min() >= 0 ? 0 : -NiceCeiling(-ys.Min());
        double logMin = xs.Length == 0 ? 0 : Math.Log10(xs[0]), logMax = xs.Length == 0 ? 1 : Math.Log10(xs[^1]);
        if (logMax - logMin < 1e-9)
        {
            logMin -= 0.5;
            logMax += 0.5;
        }

        double X(double x) => left + plotWidth * (Math.Log10(x) - logMin) / (logMax - logMin);
        double Y(double y) => top + plotHeight - plotHeight * (y - yMin) / (yMax - yMin);

        var svg = new StringBuilder();
        svg.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.AppendLine(Inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>");
        svg.AppendLine(Inv, $"<text x=\"{left}\" y=\"20\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>");
        for (int i = 0; i <= 4; i++)
        {
            double value = yMin + (yMax - yMin) * i / 4, y = Y(value);
            svg.AppendLine(Inv, $"<line x1=\"{left}\" x2=\"{left + plotWidth}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"#e3e6ea\"/>");
            svg.AppendLine(Inv, $"<text x=\"{left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Format(value)}</text>");
        }

        foreach (double x in xs)
        {
            svg.AppendLine(Inv, $"<line x1=\"{X(x):F1}\" x2=\"{X(x):F1}\" y1=\"{top}\" y2=\"{top + plotHeight}\" stroke=\"#f0f2f4\"/>");
            svg.AppendLine(Inv, $"<text x=\"{X(x):F1}\" y=\"{top + plotHeight + 15}\" text-anchor=\"middle\">{x.ToString("N0", Inv)}</text>");
        }

        svg.AppendLine(Inv, $"<text x=\"{left + plotWidth / 2}\" y=\"{height - 12}\" text-anchor=\"middle\">{Escape(xLabel)} (log scale)</text>");
        svg.AppendLine(Inv, $"<text transform=\"translate(16 {top + plotHeight / 2}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>");

        for (int m = 0; m < lines.Count; m++)
        {
            string color = Report.ModeColors[m % Report.ModeColors.Length];
            (double X, Spread Y)[] points = [.. lines[m].Points.Where(p => p.X > 0 && !double.IsNaN(p.Y.Median))];
            if (points.Length > 1)
            {
                svg.AppendLine(Inv, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', points.Select(p => string.Create(Inv, $"{X(p.X):F1},{Y(p.Y.Median):F1}")))}\"/>");
            }

            foreach ((double x, Spread y) in points)
            {
                if (!double.IsNaN(y.Min) && !double.IsNaN(y.Max))
                {
                    svg.AppendLine(Inv, $"<line x1=\"{X(x):F1}\" x2=\"{X(x):F1}\" y1=\"{Y(y.Min):F1}\" y2=\"{Y(y.Max):F1}\" stroke=\"{color}\"/>");
                }

                svg.AppendLine(Inv, $"<circle cx=\"{X(x):F1}\" cy=\"{Y(y.Median):F1}\" r=\"3\" fill=\"{color}\"><title>{Escape(lines[m].Mode)} at {x.ToString("N0", Inv)}: {Format(y.Median)}</title></circle>");
            }

            int legendY = top + 10 + m * 18;
            svg.AppendLine(Inv, $"<rect x=\"{left + plotWidth + 16}\" y=\"{legendY - 9}\" width=\"12\" height=\"12\" fill=\"{color}\"/>");
            svg.AppendLine(Inv, $"<text x=\"{left + plotWidth + 34}\" y=\"{legendY + 1}\">{Escape(lines[m].Mode)}</text>");
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    // 1, 2 or 5 times a power of ten, at or above the value: round gridline labels.
    internal static double NiceCeiling(double value)
    {
        double power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (double step in new[] { 1.0, 2.0, 5.0, 10.0 })
        {
            if (step * power >= value)
            {
                return step * power;
            }
        }

        return 10 * power;
    }

    private static string Format(double value) => value >= 100 ? value.ToString("N0", Inv) : value.ToString("0.##", Inv);

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
