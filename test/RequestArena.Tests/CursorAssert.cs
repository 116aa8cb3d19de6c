namespace RequestArena.Tests;

// Assert.Throws takes a lambda, and a lambda cannot capture a ref struct: the cursor is passed by reference instead.
internal static class CursorAssert
{
    public static TException Throws<TException>(ref ArenaCursor cursor, int size)
        where TException : Exception
    {
        try
        {
            cursor.AllocateMemory(size);
        }
        catch (TException ex)
        {
            return ex;
        }

        Assert.Fail($"AllocateMemory({size}) did not throw {typeof(TException).Name}.");
        return null!;
    }
}
