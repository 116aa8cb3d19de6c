namespace RequestArena.LoadTest.Soak;

/// <summary>One verdict of a soak run: what was checked, whether it held, and the figures behind it.</summary>
internal sealed record SoakCheck(string Name, bool Passed, string Detail);
