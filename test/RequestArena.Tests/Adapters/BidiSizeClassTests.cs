using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class BidiSizeClassTests
{
    [Theory]
    [InlineData(1, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 32)]
    [InlineData(64, 64)]
    [InlineData(65, 80)]
    [InlineData(81, 96)]
    [InlineData(128, 128)]
    [InlineData(129, 160)]
    [InlineData(1000, 1024)]
    [InlineData(1025, 1280)]
    [InlineData(BidiSizeClass.MaxSize, BidiSizeClass.MaxSize)]
    public void SizeOf_IndexOf_IsTheSmallestClassThatFits(int size, int classSize)
    {
        Assert.Equal(classSize, BidiSizeClass.SizeOf(BidiSizeClass.IndexOf(size)));
    }

    [Fact]
    public void EverySize_FitsItsClass_AndWastesAtMostAQuarter()
    {
        for (int size = 1; size <= 1 << 20; size += size < 4096 ? 1 : 97)
        {
            int index = BidiSizeClass.IndexOf(size);
            int classSize = BidiSizeClass.SizeOf(index);
            Assert.True(classSize >= size, $"size {size} class {classSize}");
            Assert.True(size <= 64 || classSize - size < classSize / 4 + 1, $"size {size} class {classSize}");
            Assert.True(index == 0 || BidiSizeClass.SizeOf(index - 1) < size, $"size {size} fits a smaller class");
        }
    }

    [Fact]
    public void LargestSize_IsTheLastClass()
    {
        Assert.Equal(BidiSizeClass.Count - 1, BidiSizeClass.IndexOf(BidiSizeClass.MaxSize));
    }
}
