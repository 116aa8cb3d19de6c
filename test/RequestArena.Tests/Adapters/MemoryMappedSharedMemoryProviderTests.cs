using System.Diagnostics;
using RequestArena;
using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class MemoryMappedSharedMemoryProviderTests : IDisposable
{
    private readonly MemoryMappedSharedMemoryProvider _provider = new(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "ra-test" });
    private readonly List<SharedMemoryHandle> _handles = [];

    public void Dispose()
    {
        foreach (SharedMemoryHandle handle in _handles)
        {
            _provider.FreeSharedMemory(null, handle);
        }
    }

    [Fact]
    public void AllocateSharedMemory_ReturnsAlignedZeroedBlock()
    {
        SlabProviderStatus status = _provider.AllocateSharedMemory(null, new SharedMemoryParameters(10_000), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Success, status);
        Track(handle);
        Assert.Equal(10_000, handle!.Length);
        Assert.Equal(0, handle.Address % 4096);
        Assert.StartsWith("ra-test-", handle.Name);
        Assert.True(handle.GetSpan().IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(1, _provider.BlocksInUse);
        Assert.Equal(10_000, _provider.BytesInUse);
    }

    [Fact]
    public void AllocateSharedMemory_BytesAreVisibleThroughASecondMappingByName()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        Track(handle);
        handle!.GetSpan()[100] = 0x42;

        using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, _provider.Directory);
        Assert.Equal(0x42, mapping.GetSpan(handle.Offset + 100, 1)[0]);

        // And the other way round: the mapping writes, the block sees it.
        mapping.GetSpan(handle.Offset + 200, 1)[0] = 0x17;
        Assert.Equal(0x17, handle.GetSpan()[200]);
    }

    [Fact]
    public void AllocateSharedMemory_LargeAlignment_IsHonouredWithPadding()
    {
        SlabProviderStatus status = _provider.AllocateSharedMemory(null, new SharedMemoryParameters(8192, 64 * 1024), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Success, status);
        Track(handle);
        Assert.Equal(0, handle!.Address % (64 * 1024));
        Assert.InRange(handle.Offset, 0, 64 * 1024 - 4096);
    }

    [Theory]
    [InlineData(0, 4096)]
    [InlineData(-5, 4096)]
    [InlineData(4096, 0)]
    [InlineData(4096, 3000)]
    [InlineData(4096, 1 << 21)]
    public void AllocateSharedMemory_BadParameters_ReturnsInvalidParameter(int length, int alignment)
    {
        SlabProviderStatus status = _provider.AllocateSharedMemory(null, new SharedMemoryParameters(length, alignment), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.InvalidParameter, status);
        Assert.Null(handle);
        Assert.Equal(0, _provider.BytesInUse);
    }

    [Fact]
    public void AllocateSharedMemory_OverMaxBytes_ReturnsResources()
    {
        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { MaxBytes = 16 * 1024 });
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(12 * 1024), out SharedMemoryHandle? first));

        SlabProviderStatus status = provider.AllocateSharedMemory(null, new SharedMemoryParameters(8 * 1024), out SharedMemoryHandle? second);

        Assert.Equal(SlabProviderStatus.Resources, status);
        Assert.Null(second);
        Assert.Equal(12 * 1024, provider.BytesInUse);
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(4 * 1024), out SharedMemoryHandle? third));
        provider.FreeSharedMemory(null, first!);
        provider.FreeSharedMemory(null, third!);
        Assert.Equal(0, provider.BytesInUse);
    }

    // A request that can never fit must not hold, even for an instant, budget that another request fits in.
    [Fact]
    public void AllocateSharedMemory_ConcurrentRequestOverMaxBytes_NeverRefusesOneThatFits()
    {
        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "ra-test", MaxBytes = 64 * 1024 });
        using var stop = new CancellationTokenSource();
        long oversizeRefusals = 0;
        var oversize = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (provider.AllocateSharedMemory(null, new SharedMemoryParameters(128 * 1024), out _) == SlabProviderStatus.Resources)
                {
                    oversizeRefusals++;
                }
            }
        });
        oversize.Start();

        int served = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            while (served + refused < 2000 && clock.Elapsed < TimeSpan.FromSeconds(1))
            {
                if (provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle) == SlabProviderStatus.Success)
                {
                    served++;
                    Assert.Equal(SlabProviderStatus.Success, provider.FreeSharedMemory(null, handle!));
                }
                else
                {
                    refused++;
                }
            }
        }
        finally
        {
            stop.Cancel();
            oversize.Join();
        }

        Assert.True(oversizeRefusals > 0, "the oversize requests never ran alongside");
        Assert.Equal(0, refused);
        Assert.True(served > 0);
        Assert.Equal(0, provider.BytesInUse);
    }

    [Fact]
    public void AllocateSharedMemory_AlignmentPaddingOverMaxBytes_ReturnsResourcesAndCountsThePaddingBack()
    {
        // A 1 MiB alignment maps almost 1 MiB of padding around a 4 KiB block: the bound is on what is mapped.
        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { MaxBytes = 8192 });

        SlabProviderStatus status = provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096, 1 << 20), out SharedMemoryHandle? padded);

        Assert.Equal(SlabProviderStatus.Resources, status);
        Assert.Null(padded);
        Assert.Equal(0, provider.BytesInUse);
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(8192), out SharedMemoryHandle? whole));
        Assert.Equal(SlabProviderStatus.Success, provider.FreeSharedMemory(null, whole!));
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(8192), out SharedMemoryHandle? again));
        provider.FreeSharedMemory(null, again!);
        Assert.Equal(0, provider.BytesInUse);
    }

    [Fact]
    public void AllocateSharedMemory_DirectoryMissing_ReturnsFailure()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid()) });

        SlabProviderStatus status = provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Failure, status);
        Assert.Null(handle);
        Assert.Equal(0, provider.BytesInUse);
        Assert.Equal(0, provider.BlocksInUse);
    }

    [Fact]
    public void FreeSharedMemory_RemovesTheBlock()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);

        Assert.Equal(SlabProviderStatus.Success, _provider.FreeSharedMemory(null, handle!));

        Assert.True(handle!.IsFreed);
        Assert.Equal(0, _provider.BlocksInUse);
        Assert.Throws<ObjectDisposedException>(() => handle.GetSpan().Length);
        Assert.Throws<FileNotFoundException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, _provider.Directory));
    }

    [Fact]
    public void FreeSharedMemory_Twice_ReturnsInvalidParameter()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        _provider.FreeSharedMemory(null, handle!);

        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, handle!));
        Assert.Equal(0, _provider.BytesInUse);
    }

    [Fact]
    public void FreeSharedMemory_HandleOfAnotherProvider_ReturnsInvalidParameterAndLeavesItMapped()
    {
        var other = new MemoryMappedSharedMemoryProvider();
        other.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? foreign);

        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, foreign!));

        Assert.False(foreign!.IsFreed);
        foreign.GetSpan()[0] = 1;
        Assert.Equal(SlabProviderStatus.Success, other.FreeSharedMemory(null, foreign));
    }

    [Fact]
    public void FreeSharedMemory_HandleNotFromAnyProvider_ReturnsInvalidParameter()
    {
        var handle = new SharedMemoryHandle("made-up", 4096, 10);

        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, handle));
        Assert.False(handle.IsFreed);
    }

    // The handle's public state is not the provider's: a second handle over the same ProviderState is not the block's.
    [Fact]
    public void FreeSharedMemory_CopyOfTheHandle_ReturnsInvalidParameterAndLeavesTheBlockMapped()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        var copy = new SharedMemoryHandle(handle!.Name, handle.Address, handle.Length, handle.Offset, handle.ProviderState);

        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, copy));

        Assert.Equal(1, _provider.BlocksInUse);
        handle.GetSpan()[0] = 7;
        Assert.Equal(SlabProviderStatus.Success, _provider.FreeSharedMemory(null, handle));
        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, handle));
        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, copy));
        Assert.Equal(0, _provider.BlocksInUse);
        Assert.Equal(0, _provider.BytesInUse);
    }

    [Fact]
    public void FreeSharedMemory_HandleMarkedFreedByItsHolder_IsStillFreed()
    {
        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        Assert.True(handle!.TryMarkFreed());

        Assert.Equal(SlabProviderStatus.Success, _provider.FreeSharedMemory(null, handle));

        Assert.Equal(0, _provider.BlocksInUse);
        Assert.Equal(0, _provider.BytesInUse);
        Assert.Equal(SlabProviderStatus.InvalidParameter, _provider.FreeSharedMemory(null, handle));
    }

    // The mapping is gone once the file cannot be removed as much as when it can: the budget must come back.
    [TmpfsFact]
    public void FreeSharedMemory_UnlinkRefused_KeepsTheBudgetAndReturnsSuccess()
    {
        using SmallTmpfs tmpfs = SmallTmpfs.Mount("256k");
        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = tmpfs.Path, MaxBytes = 64 * 1024 });
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(64 * 1024), out SharedMemoryHandle? handle));

        SlabProviderStatus status;
        using (tmpfs.RefuseChanges())
        {
            status = provider.FreeSharedMemory(null, handle!);
        }

        Assert.Equal(SlabProviderStatus.Success, status);
        Assert.True(handle!.IsFreed);
        Assert.Equal(0, provider.BlocksInUse);
        Assert.Equal(0, provider.BytesInUse);
        Assert.True(File.Exists(Path.Combine(tmpfs.Path, handle.Name)), "the file the directory refused to remove is left behind");
        Assert.Equal(SlabProviderStatus.InvalidParameter, provider.FreeSharedMemory(null, handle));
        File.Delete(Path.Combine(tmpfs.Path, handle.Name));
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(64 * 1024), out SharedMemoryHandle? again));
        Assert.Equal(SlabProviderStatus.Success, provider.FreeSharedMemory(null, again!));
    }

    [Fact]
    public void BackingFile_IsReadableByItsOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        Track(handle);

        UnixFileMode mode = File.GetUnixFileMode(Path.Combine(_provider.Directory!, handle!.Name));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/b")]
    [InlineData("")]
    public void OpenExisting_NameThatIsNotABlockName_Throws(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(name));
    }

    [Fact]
    public void OpenExisting_UnknownName_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => MemoryMappedSharedMemoryProvider.OpenExisting("requestarena-no-such-block", _provider.Directory));
    }

    [Fact]
    public void Constructor_UnsafePrefix_Throws()
    {
        Assert.Throws<ArgumentException>(() => new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "../x" }));
    }

    // A block's name is the prefix and at most 40 more characters ("-", a pid, "-", a counter, "-", 8 hex digits), and
    // a file name holds 255 bytes.
    [Fact]
    public void Constructor_NamePrefixTooLongForAFileName_ThrowsNamingTheOption()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = new string('a', 216) }));

        Assert.Contains(nameof(MemoryMappedSharedMemoryProviderOptions.NamePrefix), ex.Message);
        Assert.Contains("215", ex.Message);
        var longest = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = new string('a', 215) });
        Assert.Equal(SlabProviderStatus.Success, longest.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle));
        Assert.Equal(SlabProviderStatus.Success, longest.FreeSharedMemory(null, handle!));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("/dev/shm\0x")]
    public void Constructor_DirectoryThatCannotNameOne_ThrowsNamingTheOption(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        directory = directory.Replace("\\0", "\0");
        var ex = Assert.Throws<ArgumentException>(() => new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = directory }));

        Assert.Contains(nameof(MemoryMappedSharedMemoryProviderOptions.Directory), ex.Message);
    }

    [Fact]
    public void ProviderContext_IsPassedThroughUnused()
    {
        object context = new();

        Assert.Equal(SlabProviderStatus.Success, _provider.AllocateSharedMemory(context, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle));
        Assert.Equal(SlabProviderStatus.Success, _provider.FreeSharedMemory(context, handle!));
    }

    [Fact]
    public void AllocateSharedMemory_LengthNearIntMaxValue_ReturnsResourcesWithoutMapping()
    {
        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { NamePrefix = "ra-test", MaxBytes = 1 << 20 });

        Assert.Equal(SlabProviderStatus.Resources, provider.AllocateSharedMemory(null, new SharedMemoryParameters(int.MaxValue, 1 << 20), out SharedMemoryHandle? handle));
        Assert.Equal(SlabProviderStatus.Resources, provider.AllocateSharedMemory(null, new SharedMemoryParameters(int.MaxValue - 4095), out _));
        Assert.Equal(SlabProviderStatus.InvalidParameter, provider.AllocateSharedMemory(null, new SharedMemoryParameters(int.MinValue), out _));

        Assert.Null(handle);
        Assert.Equal(0, provider.BytesInUse);
        Assert.Equal(0, provider.BlocksInUse);
    }

    // A sparse backing file would fail only when a page is first touched: on a full memory file system that is a fatal
    // fault (SIGBUS), the process killed by a plain allocation. The child process is the one that would die.
    [TmpfsFact]
    public void FullMemoryFileSystem_ThirdSlabRefusedWithResources_ProcessLivesAndArenaStaysUsable()
    {
        using SmallTmpfs tmpfs = SmallTmpfs.Mount("256k");

        var (exitCode, output, error) = SharedMemoryReaderProcess.Run("--fill", tmpfs.Path, "ra-fill", (128 * 1024).ToString());

        Assert.True(exitCode == 0, $"the child exited with {exitCode} (134 is the fatal fault of a sparse file):\n{output}\n{error}");
        Dictionary<string, string> found = output.Split('\n').Select(line => line.Trim().Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);
        Assert.Equal("2", found["granted"]);
        Assert.StartsWith("InsufficientMemoryException: ", found["refusal"]);
        Assert.Contains("status Resources", found["refusal"]);
        Assert.Equal("2", found["blocks-after-refusal"]);
        Assert.Equal("2", found["files-after-refusal"]);              // no half-created file for the refused slab
        Assert.Equal("Resources", found["provider-status"]);
        Assert.Equal("null", found["provider-handle"]);
        Assert.Equal("2", found["files-after-provider-refusal"]);
        Assert.Equal("64:-1", found["small-after-refusal"]);         // 64 bytes, all as written
        Assert.Equal("0", found["files-after-reset"]);
        Assert.Equal($"{128 * 1024 - 16 * 1024}:-1", found["after-reset"]);   // a fresh slab, zeroed
        Assert.Equal("0", found["files-at-end"]);
        Assert.Empty(Directory.GetFileSystemEntries(tmpfs.Path));
    }

    [TmpfsFact]
    public void Constructor_BlocksOfADeadProcess_AreSweptAndEverythingElseStays()
    {
        using SmallTmpfs tmpfs = SmallTmpfs.Mount("256k");
        var owner = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = tmpfs.Path, NamePrefix = "ra-sweep" });
        Assert.Equal(SlabProviderStatus.Success, owner.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? held));
        held!.GetSpan()[0] = 42;
        var (exitCode, output, error) = SharedMemoryReaderProcess.Run("--abandon", tmpfs.Path, "ra-sweep", "4096", "3");
        Assert.True(exitCode == 0, $"the child exited with {exitCode}: {error}");
        int deadPid = int.Parse(output);
        string[] abandoned = Directory.GetFiles(tmpfs.Path, $"ra-sweep-{deadPid}-*");
        Assert.Equal(3, abandoned.Length);

        // What must survive: a live process's block, another user's, a symlink, other names and another prefix's.
        string outside = Path.Combine(tmpfs.Path, "outside");
        File.WriteAllText(outside, "not a block");
        string live = Path.Combine(tmpfs.Path, held.Name);
        string foreign = Plant($"ra-sweep-{deadPid}-7-0123abcd");
        Chown(foreign, 65534);
        string link = Path.Combine(tmpfs.Path, $"ra-sweep-{deadPid}-8-0123abcd");
        File.CreateSymbolicLink(link, outside);
        string[] others =
        [
            Plant($"ra-sweep-{deadPid}-9-0123ABCD"),
            Plant($"ra-sweep-{deadPid}-9"),
            Plant($"ra-sweep-x{deadPid}-9-0123abcd"),
            Plant($"ra-sweepx-{deadPid}-9-0123abcd"),
            Plant($"other-{deadPid}-9-0123abcd"),
        ];

        var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = tmpfs.Path, NamePrefix = "ra-sweep" });

        Assert.All(abandoned, path => Assert.False(File.Exists(path), path));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(foreign));
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal("not a block", File.ReadAllText(outside));
        Assert.All(others, path => Assert.True(File.Exists(path), path));
        Assert.Equal(SlabProviderStatus.Success, provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle));
        Assert.Equal(SlabProviderStatus.Success, provider.FreeSharedMemory(null, handle!));
        using (SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(held.Name, tmpfs.Path))
        {
            Assert.Equal(42, mapping.GetSpan(held.Offset, 1)[0]);
        }

        Assert.Equal(SlabProviderStatus.Success, owner.FreeSharedMemory(null, held));

        string Plant(string name)
        {
            string path = Path.Combine(tmpfs.Path, name);
            File.WriteAllBytes(path, []);
            return path;
        }
    }

    // An earlier process with this process's id left it: a restarted container's entry point is PID 1 every time, and
    // the pod's /dev/shm outlives the container.
    [TmpfsFact]
    public void Constructor_BlockNoProcessHoldsNamedWithThisProcessId_IsSwept()
    {
        using SmallTmpfs tmpfs = SmallTmpfs.Mount("256k");
        string earlier = Path.Combine(tmpfs.Path, $"ra-sweep-{Environment.ProcessId}-1-0123abcd");
        File.WriteAllBytes(earlier, new byte[4096]);

        _ = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = tmpfs.Path, NamePrefix = "ra-sweep" });

        Assert.False(File.Exists(earlier));
    }

    // A process in another PID namespace sharing the directory: its pid means nothing here (none such runs in this
    // namespace), but it still holds its block. The open stream's shared lock stands for that process.
    [TmpfsFact]
    public void Constructor_BlockHeldByAProcessWhosePidIsUnknownHere_Stays()
    {
        using SmallTmpfs tmpfs = SmallTmpfs.Mount("256k");
        string path = Path.Combine(tmpfs.Path, $"ra-sweep-{int.MaxValue}-1-0123abcd");
        File.WriteAllBytes(path, new byte[4096]);
        var options = new MemoryMappedSharedMemoryProviderOptions { Directory = tmpfs.Path, NamePrefix = "ra-sweep" };

        using (var holder = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            _ = new MemoryMappedSharedMemoryProvider(options);

            Assert.True(File.Exists(path));
        }

        _ = new MemoryMappedSharedMemoryProvider(options);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void DefaultDirectory_IsAMemoryFileSystemOrNothing_NeverTheTempDirectory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string? directory = MemoryMappedSharedMemoryProvider.DefaultDirectory;

        Assert.NotEqual(Path.GetTempPath(), directory);
        Assert.True(directory is null || SharedMemoryFiles.IsOnMemoryFileSystem(directory), directory);
    }

    [Fact]
    public void Constructor_DirectoryOnADisk_ThrowsUnlessAllowed()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string disk = DiskDirectory();
        try
        {
            var ex = Assert.Throws<ArgumentException>(() => new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = disk }));
            Assert.Contains("not a memory file system", ex.Message);
            Assert.Contains("AllowNonMemoryFileSystem", ex.Message);

            var allowed = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = disk, AllowNonMemoryFileSystem = true });
            Assert.Equal(SlabProviderStatus.Success, allowed.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle));
            Assert.Equal(SlabProviderStatus.Success, allowed.FreeSharedMemory(null, handle!));
        }
        finally
        {
            Directory.Delete(disk, recursive: true);
        }
    }

    [Fact]
    public void OpenExisting_DirectoryOnADisk_ThrowsUnlessAllowed()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string disk = DiskDirectory();
        try
        {
            var provider = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = disk, AllowNonMemoryFileSystem = true });
            provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
            handle!.GetSpan()[5] = 55;

            var ex = Assert.Throws<ArgumentException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, disk));
            Assert.Contains("AllowNonMemoryFileSystem", ex.Message);
            using (SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, disk, allowNonMemoryFileSystem: true))
            {
                Assert.Equal(55, mapping.GetSpan(handle.Offset + 5, 1)[0]);
            }

            provider.FreeSharedMemory(null, handle);
        }
        finally
        {
            Directory.Delete(disk, recursive: true);
        }
    }

    [Fact]
    public void OpenExisting_SymlinkPlantedUnderTheName_ThrowsUnauthorizedAccess()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        Track(handle);
        string planted = $"ra-test-{Environment.ProcessId}-999999-{Guid.NewGuid().ToString("N")[..8]}";
        string link = Path.Combine(_provider.Directory!, planted);

        // A link to a real block of this user: following it would even "work", which is why it must be refused.
        File.CreateSymbolicLink(link, Path.Combine(_provider.Directory!, handle!.Name));
        try
        {
            var ex = Assert.Throws<UnauthorizedAccessException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(planted, _provider.Directory));
            Assert.Contains("symbolic link", ex.Message);
        }
        finally
        {
            File.Delete(link);
        }
    }

    [Fact]
    public void OpenExisting_FileOfAnotherUser_ThrowsUnauthorizedAccess()
    {
        // Only root can give a file away; CI runs as root.
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            return;
        }

        _provider.AllocateSharedMemory(null, new SharedMemoryParameters(4096), out SharedMemoryHandle? handle);
        Track(handle);
        Chown(Path.Combine(_provider.Directory!, handle!.Name), 65534);

        var ex = Assert.Throws<UnauthorizedAccessException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(handle.Name, _provider.Directory));

        Assert.Contains("belongs to user 65534", ex.Message);
    }

    [Fact]
    public void OpenExisting_FifoPlantedUnderTheName_ThrowsUnauthorizedAccess()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string name = $"ra-test-{Environment.ProcessId}-999998-{Guid.NewGuid().ToString("N")[..8]}";
        string path = Path.Combine(_provider.Directory!, name);
        using (Process mkfifo = Process.Start("mkfifo", [path]))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        try
        {
            var ex = Assert.Throws<UnauthorizedAccessException>(() => MemoryMappedSharedMemoryProvider.OpenExisting(name, _provider.Directory));
            Assert.Contains("not a regular file", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static string DiskDirectory()
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "ra-disk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        Assert.False(SharedMemoryFiles.IsOnMemoryFileSystem(directory), $"{directory} was expected on a disk");
        return directory;
    }

    private static void Chown(string path, int uid)
    {
        using Process chown = Process.Start("chown", [uid.ToString(), path]);
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }

    private void Track(SharedMemoryHandle? handle)
    {
        Assert.NotNull(handle);
        _handles.Add(handle);
    }
}
