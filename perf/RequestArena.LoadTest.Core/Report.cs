using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RequestArena.LoadTest;

/// <summary>Writes the results: Markdown for people, JSON for tools, an SVG chart for the README.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One colour per mode, in the order the scenario lists its modes.</summary>
    internal static readonly string[] ModeColors = ["#2f7d4f", "#2f5d9e", "#b5482f", "#8a5a9e"];

    public static string Markdown(IReadOnlyList<ModeSummary> summaries, IReadOnlyList<BarCheck> bars, string conditions)
    {
        var md = new StringBuilder();
        md.AppendLine(conditions).AppendLine();
        md.AppendLine("| scenario | conn | mode | req/s (min–max) | p50 ms | p90 ms | p99 ms | max ms | gen0/10k | gen1/10k | gen2/10k | alloc B/req | arena B/req | WS MiB | server CPU µs/req | errors |");
        md.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ModeSummary s in summaries)
        {
            md.AppendLine(Inv, $"| {s.Scenario} | {s.Connections} | {Label(s)} | {s.RequestsPerSecond.Median:N0} ({s.RequestsPerSecond.Min:N0}–{s.RequestsPerSecond.Max:N0}) | {s.P50Ms.Median:F2} | {s.P90Ms.Median:F2} | {s.P99Ms.Median:F2} | {s.MaxMs.Median:F1} | {s.Gen0Per10k.Median:F2} | {s.Gen1Per10k.Median:F2} | {s.Gen2Per10k.Median:F2} | {(double.IsNaN(s.AllocatedBytesPerRequest.Median) ? "n/a" : s.AllocatedBytesPerRequest.Median.ToString("N0", Inv))} | {s.ArenaBytesPerRequest.Median:N0} | {s.WorkingSetMiB.Median:F0} | {s.ServerCpuUsPerRequest.Median:F1} | {s.Errors} |");
        }

        md.AppendLine().AppendLine("Ratios (medians): arena/new, arena/pool and arena/recyclable; for hello, middleware/no middleware.").AppendLine();
        md.AppendLine("| scenario | conn | versus | req/s | p99 | gen0/10k | alloc B/req | server CPU/req |");
        md.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|");
        foreach (var group in summaries.GroupBy(s => (s.Scenario, s.Connections)))
        {
            var by = group.ToDictionary(s => s.Mode);
            foreach ((string a, string b) in new[] { ("arena", "new"), ("arena", "pool"), ("arena", "recyclable"), ("api", "bare") })
            {
                if (by.TryGetValue(a, out var x) && by.TryGetValue(b, out var y))
                {
                    md.AppendLine(Inv, $"| {group.Key.Scenario} | {group.Key.Connections} | {Label(x)}/{Label(y)} | {R(x.RequestsPerSecond, y.RequestsPerSecond)} | {R(x.P99Ms, y.P99Ms)} | {R(x.Gen0Per10k, y.Gen0Per10k)} | {R(x.AllocatedBytesPerRequest, y.AllocatedBytesPerRequest)} | {R(x.ServerCpuUsPerRequest, y.ServerCpuUsPerRequest)} |");
                }
            }
        }

        if (bars.Count > 0)
        {
            md.AppendLine().AppendLine("Bars:").AppendLine();
            md.AppendLine("Measured is the ratio of the medians, or where the bar is judged per round, the median of the ratios taken round by round; per round is that ratio round by round (median, min–max).").AppendLine();
            md.AppendLine("| scenario | conn | bar | judged on | measured | per round | required | |");
            md.AppendLine("|---|---:|---|---|---:|---:|---:|---|");
            foreach (BarCheck bar in bars)
            {
                string perRound = bar.PerRound is { } r && !double.IsNaN(r.Median) ? string.Create(Inv, $"{r.Median:F3} ({r.Min:F2}–{r.Max:F2})") : "";
                md.AppendLine(Inv, $"| {bar.Scenario} | {bar.Connections} | {bar.Bar} | {(bar.OnRounds ? "per round" : "medians")} | {bar.Measured:F3} | {perRound} | {(bar.AtMost ? "≤" : "≥")} {bar.Required:F2} | {(bar.Passed ? "pass" : "**MISS**")} |");
            }
        }

        return md.ToString();
    }

    /// <summary>
    /// Writes <paramref name="contents"/> to <paramref name="path"/> through a file beside it, renamed over it once
    /// complete, so a full or failing file system never leaves a truncated result behind.
    /// </summary>
    public static async Task WriteResultAsync(string path, string contents)
    {
        string temporary = path + ".tmp";
        try
        {
            await File.WriteAllTextAsync(temporary, contents);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static string Json(object document) =>
        JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });

    /// <summary>Two grouped bar charts (requests/s, Gen0 per 10k requests), one group per scenario and concurrency.</summary>
    public static string Svg(IReadOnlyList<ModeSummary> summaries, string title)
    {
        var groups = summaries.GroupBy(s => (s.Scenario, s.Connections)).ToList();
        const int groupWidth = 120, left = 70, panelHeight = 220, top = 40, gap = 70;
        int width = left + Math.Max(1, groups.Count) * groupWidth + 20;
        int height = top + 2 * panelHeight + gap + 60;
        string[] colors = ModeColors;
        var svg = new StringBuilder();
        svg.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.AppendLine(Inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>");
        svg.AppendLine(Inv, $"<text x=\"{left}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>");

        void Panel(int y0, string caption, Func<ModeSummary, Spread> pick, string format)
        {
            double max = Math.Max(1e-9, summaries.Count == 0 ? 1 : summaries.Max(s => pick(s).Max));
            svg.AppendLine(Inv, $"<text x=\"{left}\" y=\"{y0 - 6}\" font-weight=\"bold\">{Escape(caption)} (median; whiskers min–max)</text>");
            for (int i = 0; i <= 4; i++)
            {
                double y = y0 + panelHeight - panelHeight * i / 4.0;
                svg.AppendLine(Inv, $"<line x1=\"{left}\" x2=\"{width - 20}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"#e3e6ea\"/>");
                svg.AppendLine(Inv, $"<text x=\"{left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{(max * i / 4).ToString(format, Inv)}</text>");
            }

            for (int g = 0; g < groups.Count; g++)
            {
                var modes = groups[g].ToList();
                double barWidth = (groupWidth - 20.0) / modes.Count;
                for (int m = 0; m < modes.Count; m++)
                {
                    Spread v = pick(modes[m]);
                    double x = left + g * groupWidth + 10 + m * barWidth;
                    double h = panelHeight * v.Median / max;
                    double yMin = y0 + panelHeight - panelHeight * v.Min / max, yMax = y0 + panelHeight - panelHeight * v.Max / max;
                    svg.AppendLine(Inv, $"<rect x=\"{x:F1}\" y=\"{y0 + panelHeight - h:F1}\" width=\"{barWidth - 3:F1}\" height=\"{h:F1}\" fill=\"{colors[m % colors.Length]}\"><title>{Escape(Label(modes[m]))}: {v.Median.ToString(format, Inv)}</title></rect>");
                    double cx = x + (barWidth - 3) / 2;
                    svg.AppendLine(Inv, $"<line x1=\"{cx:F1}\" x2=\"{cx:F1}\" y1=\"{yMin:F1}\" y2=\"{yMax:F1}\" stroke=\"#1d2430\"/>");
                    svg.AppendLine(Inv, $"<text x=\"{cx:F1}\" y=\"{y0 + panelHeight + 12}\" text-anchor=\"middle\" font-size=\"9\">{Escape(ShortLabel(modes[m]))}</text>");
                }

                svg.AppendLine(Inv, $"<text x=\"{left + g * groupWidth + groupWidth / 2}\" y=\"{y0 + panelHeight + 26}\" text-anchor=\"middle\">{Escape(groups[g].Key.Scenario)} c{groups[g].Key.Connections}</text>");
            }
        }

        Panel(top + 10, "requests/s", s => s.RequestsPerSecond, "N0");
        Panel(top + 10 + panelHeight + gap, "Gen0 collections per 10k requests", s => s.Gen0Per10k, "F2");
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static string Label(ModeSummary s) => s.Scenario == "hello" ? (s.Mode == "api" ? "middleware" : "no middleware") : s.Mode;

    private static string ShortLabel(ModeSummary s) => s.Scenario == "hello" ? (s.Mode == "api" ? "mw" : "none") : s.Mode;

    private static string R(Spread a, Spread b)
    {
        double r = BarCheck.Ratio(a.Median, b.Median);
        return double.IsNaN(r) ? "n/a" : double.IsInfinity(r) ? "∞" : r.ToString("F2", Inv);
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
