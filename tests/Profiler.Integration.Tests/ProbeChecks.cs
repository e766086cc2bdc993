using Profiler.Collectors.Linux.Probes;

namespace Profiler.Integration.Tests;

static class ProbeChecks
{
    /// <summary>A uprobe left behind shows as an int3 in the target's code: compare every probed
    /// instruction in memory with the file.</summary>
    public static void AssertCodeUnpatched(int pid)
    {
        var maps = Collectors.Linux.Procfs.ProcMaps.Read(pid).Where(m => m.IsFile && m.IsExecutable).ToList();
        using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read);
        int compared = 0;
        foreach (var path in maps.Select(m => m.Path).Distinct())
        {
            foreach (var site in ProbePlanner.Plan(path))
            {
                var map = maps.FirstOrDefault(m => m.Path == path && site.FileOffset >= m.FileOffset && site.FileOffset < m.FileOffset + (m.End - m.Start));
                if (map is null) continue;
                var inMemory = new byte[1];
                mem.Position = (long)(map.Start + site.FileOffset - map.FileOffset);
                mem.ReadExactly(inMemory);
                using var file = File.OpenRead(path);
                file.Position = (long)site.FileOffset;
                Assert.Equal(file.ReadByte(), inMemory[0]);
                compared++;
            }
        }
        Assert.True(compared >= 5, $"only {compared} probe sites compared");
    }
}
