using RequestArena.LoadTest;

namespace RequestArena.AspNetCore.Tests.LoadTest;

public sealed class ReportTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), $"loadtest-report-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }

    [Fact]
    public async Task WriteResultAsync_OverAnEarlierResult_ReplacesItAndLeavesNoTemporaryFile()
    {
        Directory.CreateDirectory(_out);
        string path = Path.Combine(_out, "results.json");
        await File.WriteAllTextAsync(path, "old");

        await Report.WriteResultAsync(path, "new");

        Assert.Equal("new", await File.ReadAllTextAsync(path));
        Assert.Equal(["results.json"], Directory.GetFileSystemEntries(_out).Select(Path.GetFileName));
    }
}
