using Profiler.Core.Model;

namespace Profiler.Symbols.Resolution;

/// <summary>One address to resolve, as <see cref="IFrameResolver.Resolve"/> takes it.</summary>
public readonly record struct FrameRequest(MappedModule Module, ulong LookupOffset, ulong FileOffset);
