using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Profiler.Collectors.Linux.Bpf;

namespace Profiler.Tests.Collector;

/// <summary>Compares a C# mirror with the C type it mirrors, as the BTF describes it, and lists
/// every disagreement in words that name the member (an empty list: they agree).</summary>
static class MirrorCheck
{
    /// <summary>C names are snake_case, C# names PascalCase; these words are spelled out in C#.</summary>
    static readonly Dictionary<string, string> Words = new()
    {
        ["ns"] = "Nanos", ["seq"] = "Sequence", ["func"] = "Function", ["len"] = "Length",
    };

    /// <summary>time_ns → TimeNanos, old_address → OldAddress.</summary>
    public static string CSharpName(string cName) =>
        string.Concat(cName.Split('_').Select(w => Words.TryGetValue(w, out var s) ? s : char.ToUpperInvariant(w[0]) + w[1..]));

    /// <summary>Size, and each member's offset and size, where the C# struct really keeps them: a
    /// record whose byte i is i + 1 is read into the struct the way the collector reads events
    /// (MemoryMarshal.Read), and each field's bytes say where in the record they came from.</summary>
    public static List<string> Struct(BtfStruct c, Type mirror)
    {
        var problems = new List<string>();
        int size = (int)Generic(nameof(SizeOf), mirror).Invoke(null, null)!;
        if (size != c.Size) problems.Add($"{mirror.Name} is {size} bytes, struct {c.Name} {c.Size}");
        int length = Math.Max(size, c.Size);
        if (length > byte.MaxValue) throw new NotSupportedException($"{c.Name}: the byte pattern only tells 255 positions apart");
        var record = Enumerable.Range(1, length).Select(i => (byte)i).ToArray();
        object value = Generic(nameof(Read), mirror).Invoke(null, [record])!;

        var fields = mirror.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).ToDictionary(f => f.Name);
        foreach (var member in c.Members)
        {
            string name = CSharpName(member.Name);
            if (!fields.Remove(name, out var field))
            {
                problems.Add($"{c.Name}.{member.Name} has no field {mirror.Name}.{name}");
                continue;
            }
            var bytes = (byte[])Generic(nameof(BytesOf), field.FieldType).Invoke(null, [field.GetValue(value)])!;
            int offset = bytes[0] - 1;
            bool contiguous = bytes.Select((b, i) => b == bytes[0] + i).All(x => x);
            if (offset != member.Offset || bytes.Length != member.Size || !contiguous)
                problems.Add($"{mirror.Name}.{name} is at offset {offset}, {bytes.Length} bytes; " +
                             $"{c.Name}.{member.Name} is at offset {member.Offset}, {member.Size} bytes");
        }
        foreach (var extra in fields.Keys)
            problems.Add($"{mirror.Name}.{extra} has no member in struct {c.Name}");
        return problems;
    }

    /// <summary>Every constant of the C enum is a member of the C# enum with the same value, and
    /// the other way round. Names match without <paramref name="prefix"/>, underscores and case
    /// (MEMPROF_POSIX_MEMALIGN ↔ PosixMemalign).</summary>
    public static List<string> Enum(BtfEnum c, Type mirror, string prefix)
    {
        var problems = new List<string>();
        var csharp = System.Enum.GetNames(mirror).ToDictionary(Key, n => Convert.ToInt64(System.Enum.Parse(mirror, n)));
        var names = System.Enum.GetNames(mirror).ToDictionary(Key);
        foreach (var constant in c.Values)
        {
            if (!constant.Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                problems.Add($"{constant.Name} of enum {c.Name} lacks the prefix {prefix} the mirror's names leave out");
                continue;
            }
            string key = Key(constant.Name[prefix.Length..]);
            if (!csharp.Remove(key, out long value))
                problems.Add($"{constant.Name} = {constant.Value} has no member in {mirror.Name}");
            else if (value != constant.Value)
                problems.Add($"{mirror.Name}.{names[key]} = {value}, {constant.Name} = {constant.Value}");
        }
        foreach (var (key, value) in csharp)
            problems.Add($"{mirror.Name}.{names[key]} = {value} has no constant in enum {c.Name}");
        return problems;
    }

    /// <summary>Every constant of the C enum has a C# constant in <paramref name="mirrors"/> with
    /// the same value, and every entry of <paramref name="mirrors"/> a constant in the enum.</summary>
    public static List<string> Constants(BtfEnum c, IReadOnlyDictionary<string, (string Name, long Value)> mirrors)
    {
        var problems = new List<string>();
        foreach (var constant in c.Values)
        {
            if (!mirrors.TryGetValue(constant.Name, out var mirror))
                problems.Add($"{constant.Name} = {constant.Value} (enum {c.Name}) has no C# constant in this test's table");
            else if (mirror.Value != constant.Value)
                problems.Add($"{mirror.Name} = {mirror.Value}, {constant.Name} = {constant.Value}");
        }
        foreach (var name in mirrors.Keys.Except(c.Values.Select(v => v.Name)))
            problems.Add($"{mirrors[name].Name} mirrors {name}, which enum {c.Name} does not have");
        return problems;
    }

    static string Key(string name) => name.Replace("_", "").ToUpperInvariant();

    static MethodInfo Generic(string name, Type type) =>
        typeof(MirrorCheck).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!.MakeGenericMethod(type);

    static int SizeOf<T>() where T : unmanaged => Unsafe.SizeOf<T>();

    static object Read<T>(byte[] record) where T : unmanaged => MemoryMarshal.Read<T>(record);

    static byte[] BytesOf<T>(object value) where T : unmanaged
    {
        var v = (T)value;
        return MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in v)).ToArray();
    }
}
