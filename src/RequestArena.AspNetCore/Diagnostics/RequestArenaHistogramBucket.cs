namespace RequestArena.AspNetCore;

/// <summary>One bucket of the bytes-per-request histogram in <see cref="RequestArenaStatisticsSnapshot"/>.</summary>
/// <param name="LowerBound">Bytes above which the bucket starts (exclusive); -1 for the first bucket, which holds exactly 0.</param>
/// <param name="UpperBound">The largest byte count the bucket holds (inclusive); <see cref="long.MaxValue"/> for the last bucket.</param>
/// <param name="Count">Requests whose arena allocated a byte count in the bucket.</param>
public readonly record struct RequestArenaHistogramBucket(long LowerBound, long UpperBound, long Count);
