using System.Text.Json;
using Profiler.Firefox;

namespace Profiler.Tests.Firefox;

/// <summary>Reads emitted profiles back the way the Firefox Profiler would resolve them.</summary>
static class ProfileJson
{
    public static JsonDocument Parse(ProfileBuilder builder) => JsonDocument.Parse(builder.ToJson());

    public static JsonDocument Load(string path) => JsonDocument.Parse(File.ReadAllText(path));

    /// <summary>Each allocation as one line of text, its stack spelled out from the root.</summary>
    public static List<string> ResolvedAllocations(JsonElement profile, int thread)
    {
        var allocations = profile.GetProperty("threads")[thread].GetProperty("nativeAllocations");
        var rows = allocations.GetProperty("length").GetInt32();
        return Enumerable.Range(0, rows).Select(row =>
            $"t={Column(allocations, "time")[row]} w={Column(allocations, "weight")[row]} " +
            $"address={Column(allocations, "memoryAddress")[row]} tid={Column(allocations, "threadId")[row]} " +
            $"stack={ResolveStack(profile, Column(allocations, "stack")[row].GetInt32())}").ToList();
    }

    public static string ResolveStack(JsonElement profile, int stack)
    {
        var shared = profile.GetProperty("shared");
        var stacks = shared.GetProperty("stackTable");
        var frames = new List<string>();
        while (true)
        {
            frames.Add(ResolveFrame(profile, Column(stacks, "frame")[stack].GetInt32()));
            var offset = Column(stacks, "prefixOffset")[stack].GetInt32();
            if (offset == 0) break;
            stack -= offset;
        }
        frames.Reverse();
        return string.Join(" > ", frames);
    }

    static string ResolveFrame(JsonElement profile, int frame)
    {
        var shared = profile.GetProperty("shared");
        var frames = shared.GetProperty("frameTable");
        var funcs = shared.GetProperty("funcTable");
        var func = Column(frames, "func")[frame].GetInt32();
        var resource = Column(funcs, "resource")[func].GetInt32();
        var library = resource < 0 ? "-" : String(profile, Column(shared.GetProperty("resourceTable"), "name")[resource].GetInt32());
        var source = Column(funcs, "source")[func];
        var file = source.ValueKind == JsonValueKind.Null
            ? "-"
            : String(profile, Column(shared.GetProperty("sources"), "filename")[source.GetInt32()].GetInt32());
        var lib = Column(frames, "lib")[frame].GetInt32();
        var libName = lib < 0 ? "-" : profile.GetProperty("libs")[lib].GetProperty("name").GetString();
        return $"{library}!{String(profile, Column(funcs, "name")[func].GetInt32())}({file}:{Column(funcs, "lineNumber")[func].GetRawText()})" +
            $"@{Column(frames, "address")[frame]}:{Column(frames, "line")[frame].GetRawText()} in {libName}" +
            $" category={profile.GetProperty("meta").GetProperty("categories")[Column(frames, "category")[frame].GetInt32()].GetProperty("name")}";
    }

    public static JsonElement Column(JsonElement table, string name) => table.GetProperty(name);

    public static string String(JsonElement profile, int index) =>
        profile.GetProperty("shared").GetProperty("stringArray")[index].GetString()!;

    public static List<string> Strings(JsonElement column) => column.EnumerateArray().Select(value => value.GetRawText()).ToList();
}
