namespace WebDemo.Tests;

// The browser test compares process-wide allocation figures between modes, so nothing else may run beside it.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserCollection
{
    public const string Name = "Browser";
}
