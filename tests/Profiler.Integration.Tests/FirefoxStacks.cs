using System.Text.Json;

namespace Profiler.Integration.Tests;

/// <summary>A frame of a Firefox profile's stack: its function's name, source file and library.</summary>
sealed record FirefoxFrame(string Name, string? File, string? Library);

/// <summary>The native allocations of a Firefox Profiler profile (processed format) with their
/// stacks, read straight from the JSON's shared tables.</summary>
sealed class FirefoxStacks
{
    readonly FirefoxFrame[] _frames;
    readonly int[] _stackFrame;
    readonly int[] _stackPrefix;

    /// <summary>(stack index, weight) of every entry of every thread's nativeAllocations: a
    /// positive weight allocates, a negative one frees.</summary>
    public List<(int Stack, long Weight)> Allocations { get; } = [];

    FirefoxStacks(JsonElement root)
    {
        var shared = root.GetProperty("shared");
        var strings = shared.GetProperty("stringArray").EnumerateArray().Select(s => s.GetString()!).ToArray();
        var funcs = shared.GetProperty("funcTable");
        var funcName = Ints(funcs, "name");
        var funcSource = NullableInts(funcs, "source");
        var funcResource = NullableInts(funcs, "resource");
        var sourceFile = Ints(shared.GetProperty("sources"), "filename");
        var resourceName = Ints(shared.GetProperty("resourceTable"), "name");
        var frameFunc = Ints(shared.GetProperty("frameTable"), "func");
        _frames = frameFunc.Select(f => new FirefoxFrame(strings[funcName[f]],
            funcSource[f] is { } s ? strings[sourceFile[s]] : null,
            funcResource[f] is { } r ? strings[resourceName[r]] : null)).ToArray();
        _stackFrame = Ints(shared.GetProperty("stackTable"), "frame");
        _stackPrefix = Ints(shared.GetProperty("stackTable"), "prefixOffset");
        foreach (var thread in root.GetProperty("threads").EnumerateArray())
        {
            if (!thread.TryGetProperty("nativeAllocations", out var allocations)) continue;
            var weights = allocations.GetProperty("weight").EnumerateArray().Select(w => w.GetInt64()).ToArray();
            var stacks = allocations.GetProperty("stack").EnumerateArray().Select(s => s.GetInt32()).ToArray();
            for (int i = 0; i < weights.Length; i++) Allocations.Add((stacks[i], weights[i]));
        }
    }

    public static FirefoxStacks Of(JsonDocument profile) => new(profile.RootElement);

    /// <summary>The frames of a stack from its leaf to its root (each stack names its prefix by
    /// an offset back into the table; 0 ends the chain).</summary>
    public IEnumerable<FirefoxFrame> LeafFirst(int stack)
    {
        for (int s = stack; ; s -= _stackPrefix[s])
        {
            yield return _frames[_stackFrame[s]];
            if (_stackPrefix[s] == 0) yield break;
        }
    }

    static int[] Ints(JsonElement table, string column) =>
        table.GetProperty(column).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    /// <summary>An optional index: null, or -1 as the processed format writes "none" for a resource.</summary>
    static int?[] NullableInts(JsonElement table, string column) =>
        table.GetProperty(column).EnumerateArray()
            .Select(v => v.ValueKind == JsonValueKind.Null || v.GetInt32() < 0 ? (int?)null : v.GetInt32()).ToArray();
}
