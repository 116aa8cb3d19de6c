namespace RequestArena.AspNetCore.Tests;

// A directory of one test's own under the system's temporary folder, not created until the test or the code under test
// creates it, and deleted with everything in it when the test ends.
internal sealed class ScratchDirectory(string prefix) : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
