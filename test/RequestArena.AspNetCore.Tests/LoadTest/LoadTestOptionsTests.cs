using RequestArena.LoadTest;

namespace RequestArena.AspNetCore.Tests.LoadTest;

public sealed class LoadTestOptionsTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new("loadtest-options");

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("--rounds", "abc")]
    [InlineData("--rounds", "99999999999")]
    [InlineData("--rounds", "0")]
    [InlineData("--max-requests", "abc")]
    [InlineData("--max-requests", "-5")]
    [InlineData("--connections", "99999999999")]
    [InlineData("--connections", "16,x")]
    [InlineData("--connections", "0")]
    [InlineData("--duration", "1e300")]
    [InlineData("--duration", "NaN")]
    [InlineData("--duration", "-1")]
    [InlineData("--warmup", "-1")]
    [InlineData("--warmup", "abc")]
    [InlineData("--sweep-fixed-allocations", "abc")]
    [InlineData("--app", "/nonexistent/WebDemo.dll")]
    public void Parse_BadValue_ThrowsArgumentExceptionNamingTheOption(string option, string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => LoadTestOptions.Parse([option, value, "--out", _scratch.Path]));

        Assert.Contains(option, ex.Message);
    }

    // The results are written after every run: a directory that cannot take them must stop the tool before any load.
    [Fact]
    public void Parse_OutputDirectoryThatCannotBeWritten_ThrowsBeforeAnyRun()
    {
        string file = Path.Combine(_scratch.Path, "a-file");
        Directory.CreateDirectory(_scratch.Path);
        File.WriteAllText(file, "not a directory");

        var results = Assert.Throws<ArgumentException>(() => LoadTestOptions.Parse(["--out", Path.Combine(file, "results")]));
        var charts = Assert.Throws<ArgumentException>(() => LoadTestOptions.Parse(["--sweep", "--out", _scratch.Path, "--charts", Path.Combine(file, "charts")]));

        Assert.StartsWith("--out", results.Message);
        Assert.StartsWith("--charts", charts.Message);
        Assert.Equal(["a-file"], Directory.GetFileSystemEntries(_scratch.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Parse_GoodValues_AreKept()
    {
        LoadTestOptions options = LoadTestOptions.Parse(["--rounds", "4", "--duration", "1.5", "--warmup", "0", "--connections", "1,16", "--max-requests", "1000", "--out", _scratch.Path]);

        Assert.Equal(4, options.Rounds);
        Assert.Equal(TimeSpan.FromSeconds(1.5), options.Duration);
        Assert.Equal(TimeSpan.Zero, options.WarmUp);
        Assert.Equal([1, 16], options.Connections);
        Assert.Equal(1000, options.MaxRequests);
        Assert.Null(options.Driver);
    }
}
