using Profiler.Collectors.Linux.Session;

namespace Profiler.Tests.Collector.Session;

/// <summary>A script runs its #! interpreter: that ELF image is what takes (or cannot take) the
/// preload library, as exec resolves it.</summary>
public sealed class LaunchImageTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-launch-image");

    string Script(string name, string text)
    {
        string path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_script_resolves_to_its_interpreter_through_nested_scripts()
    {
        string inner = Script("inner", "#!/bin/sh\necho hi\n");
        string outer = Script("outer", $"#! {inner} -x\n");
        Assert.Equal("/bin/sh", LaunchImage.Resolve(outer));
        Assert.Equal("/bin/sh", LaunchImage.Resolve(inner));
        Assert.Equal("/bin/sh", LaunchImage.Resolve("/bin/sh"));
    }

    [Fact]
    public void A_script_is_judged_by_its_interpreter_and_says_so()
    {
        string script = Script("wrap", "#!/usr/bin/env bash\nexec true\n");
        var asked = new List<string>();
        Assert.Null(LaunchImage.PreloadFit(script, image => { asked.Add(image); return null; }));
        Assert.Equal(["/usr/bin/env"], asked);

        var unfit = LaunchImage.PreloadFit(script, image => $"{Path.GetFileName(image)} is statically linked");
        Assert.Equal(new PreloadUnfit("env is statically linked, the interpreter of wrap", PassOn: true), unfit);
    }

    [Fact]
    public void An_interpreter_that_does_not_exist_leaves_the_script_itself()
    {
        string script = Script("broken", "#!/nonexistent/interpreter\n");
        Assert.Equal(script, LaunchImage.Resolve(script));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
