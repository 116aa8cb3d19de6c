namespace WebDemo;

/// <summary>Where an endpoint takes its temporary buffers from.</summary>
public enum AllocMode
{
    /// <summary>The request arena (<c>HttpContext.GetRequestArena()</c>).</summary>
    Arena,

    /// <summary><see cref="System.Buffers.ArrayPool{T}.Shared"/>, returned at the end of the request.</summary>
    Pool,

    /// <summary>Fresh arrays, left to the GC.</summary>
    New,
}
