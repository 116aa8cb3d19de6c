namespace RequestArena.Tests.Adapters;

/// <summary>A fact that is skipped, saying why, only when this process may not mount a tmpfs.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (SmallTmpfs.WhyNotMountable is { } reason)
        {
            Skip = reason;
        }
    }
}
