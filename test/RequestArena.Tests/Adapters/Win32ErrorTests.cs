using RequestArena.Adapters;

namespace RequestArena.Tests.Adapters;

public sealed class Win32ErrorTests
{
    [Theory]
    [InlineData(Win32Error.Success, 0)]
    [InlineData(Win32Error.InvalidHandle, 6)]
    [InlineData(Win32Error.NotEnoughMemory, 8)]
    [InlineData(Win32Error.InvalidParameter, 87)]
    public void Values_AreTheWindowsCodes(Win32Error error, int windowsValue)
    {
        Assert.Equal(windowsValue, (int)error);
    }
}
