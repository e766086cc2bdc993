namespace Profiler.Core.Model;

/// <summary>A mapped file as the collector saw it in the target's address space.</summary>
public sealed record MappedModule(string Path, string BuildId, ulong Start, ulong End, ulong FileOffset);

/// <summary>Turns an address inside a mapped module into named frames (the symbolization pass).</summary>
public interface IFrameResolver
{
    /// <param name="lookupOffset">File offset to look up: for return addresses one byte before,
    /// so the call instruction, not the next line, is named.</param>
    IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset);
}

/// <summary>A resolver that collects problems worth telling the user once (stripped files…).</summary>
public interface IWarningSource
{
    IReadOnlyList<string> Warnings { get; }
}
