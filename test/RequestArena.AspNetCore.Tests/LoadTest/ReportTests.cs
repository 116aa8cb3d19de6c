using RequestArena.LoadTest;

namespace RequestArena.AspNetCore.Tests.LoadTest;

public sealed class ReportTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new("loadtest-report");

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task WriteResultAsync_OverAnEarlierResult_ReplacesItAndLeavesNoTemporaryFile()
    {
        Directory.CreateDirectory(_scratch.Path);
        string path = Path.Combine(_scratch.Path, "results.json");
        await File.WriteAllTextAsync(path, "old");

        await Report.WriteResultAsync(path, "new");

        Assert.Equal("new", await File.ReadAllTextAsync(path));
        Assert.Equal(["results.json"], Directory.GetFileSystemEntries(_scratch.Path).Select(Path.GetFileName));
    }
}
