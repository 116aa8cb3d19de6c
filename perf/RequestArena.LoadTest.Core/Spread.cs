namespace RequestArena.LoadTest;

/// <summary>Median with min and max over the rounds.</summary>
internal readonly record struct Spread(double Median, double Min, double Max)
{
    public static Spread Of(IEnumerable<double> values)
    {
        // NaN marks a figure a run could not measure; the spread is over the runs that could.
        double[] v = [.. values.Where(x => !double.IsNaN(x)).Order()];
        if (v.Length == 0)
        {
            return new Spread(double.NaN, double.NaN, double.NaN);
        }

        double median = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        return new Spread(median, v[0], v[^1]);
    }
}
