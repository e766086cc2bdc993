using System.Text.Json;

namespace Profiler.Firefox;

/// <summary>One validation run; the partial files check one part of the profile each.</summary>
sealed partial class ProfileChecker(JsonElement root, ValidationRules rules)
{
    const int ProcessedVersion = 70;
    const int GeckoVersion = 36;
    const long MaxSafeInteger = ProfileBuilder.MaxSafeInteger;

    readonly ProblemList _problems = new();

    // Row counts of the tables that other tables point into.
    int _strings;
    int _libs;
    int _threads;
    int[] _subcategoryCounts = [];
    readonly HashSet<string> _markerTypes = [];
    readonly HashSet<string> _threadPids = [];

    public IReadOnlyList<string> Run()
    {
        if (!root.IsObject())
        {
            _problems.Add("the profile is not a JSON object");
            return _problems.Items;
        }
        CheckMeta();
        CheckLibs();
        CheckShared();
        CheckThreads();
        CheckInitialThreads();
        CheckCounters();
        CheckForbiddenNames();
        return _problems.Items;
    }

    void CheckLibs()
    {
        if (root.Property("libs") is not { } libs || !libs.IsArray())
        {
            _problems.Add("libs: missing or not an array");
            return;
        }
        _libs = libs.GetArrayLength();
        var index = 0;
        foreach (var lib in libs.EnumerateArray())
        {
            var path = $"libs[{index++}]";
            foreach (var field in (string[])["arch", "name", "path", "debugName", "debugPath", "breakpadId"])
                Require(lib, path, field, "a string", value => value.IsString());
            Require(lib, path, "codeId", "a string or null", value => value.IsString() || value.IsNull());
        }
    }

    void Require(JsonElement parent, string path, string name, string expectation, Func<JsonElement, bool> isValid)
    {
        if (parent.Property(name) is not { } value) _problems.Add($"{path}.{name}: missing");
        else if (!isValid(value)) _problems.Add($"{path}.{name}: {value.Describe()} is not {expectation}");
    }

    void RequireNumber(JsonElement parent, string path, string name, bool nullable = false) =>
        Require(parent, path, name, nullable ? "a number or null" : "a number", value => value.IsNumber() || (nullable && value.IsNull()));

    void RequireString(JsonElement parent, string path, string name) =>
        Require(parent, path, name, "a string", value => value.IsString());
}
