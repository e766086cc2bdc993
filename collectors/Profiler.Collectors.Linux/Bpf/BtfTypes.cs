using System.Buffers.Binary;
using System.Text;
using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Bpf;

/// <summary>The type information (the .BTF section) of a compiled BPF object: how clang laid out
/// each struct and which value it gave each enum constant. memprof's C# mirrors of the kernel
/// interface (<see cref="BpfEventHeader"/> and its siblings) are checked against it, so the C
/// header stays the one definition. Format: Documentation/bpf/btf.rst of the kernel.</summary>
public sealed class BtfTypes
{
    const ushort Magic = 0xeb9f;

    /// <summary>Index = type id; id 0 is void.</summary>
    readonly List<RawType> _types;

    BtfTypes(List<RawType> types) => _types = types;

    /// <exception cref="InvalidDataException">The object has no .BTF section or it is malformed.</exception>
    public static BtfTypes Read(ElfFile elf)
    {
        var section = elf.FindSection(".BTF") ?? throw new InvalidDataException($"{elf.Path} has no .BTF section");
        return Parse(elf.ReadSection(section));
    }

    /// <exception cref="InvalidDataException">The bytes are not a BTF blob this reader understands.</exception>
    public static BtfTypes Parse(ReadOnlySpan<byte> btf)
    {
        if (btf.Length < 24 || BinaryPrimitives.ReadUInt16LittleEndian(btf) != Magic)
            throw new InvalidDataException("not a little-endian BTF blob");
        // Header: magic, version, flags, then hdr_len, and offset and length of the type and the
        // string sections (offsets from the end of the header).
        long headerLength = U32(btf, 4);
        var types = Slice(btf, headerLength + U32(btf, 8), U32(btf, 12), "type section");
        var strings = Slice(btf, headerLength + U32(btf, 16), U32(btf, 20), "string section");
        var list = new List<RawType> { new(BtfKind.Void, "", 0, 0, 0, []) };
        for (int at = 0; at < types.Length;)
            list.Add(ReadType(types, ref at, strings));
        return new BtfTypes(list);
    }

    /// <summary>Names of the named structs and unions.</summary>
    public IEnumerable<string> StructNames =>
        _types.Where(t => t.Kind is BtfKind.Struct or BtfKind.Union && t.Name.Length > 0).Select(t => t.Name);

    public IEnumerable<BtfEnum> Enums =>
        Enumerable.Range(0, _types.Count).Where(id => _types[id].Kind is BtfKind.Enum or BtfKind.Enum64).Select(ToEnum);

    /// <summary>The struct (or union) called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The object describes no such struct.</exception>
    public BtfStruct Struct(string name)
    {
        int id = Find(name, BtfKind.Struct, BtfKind.Union) ?? throw new KeyNotFoundException($"BTF has no struct {name}");
        var t = _types[id];
        var members = t.Members.Select(m => m.BitfieldBits != 0 || m.BitOffset % 8 != 0
            ? throw new InvalidDataException($"{name}.{m.Name} is a bitfield, which this reader does not lay out")
            : new BtfMember(m.Name, checked((int)(m.BitOffset / 8)), SizeOf(m.Type))).ToList();
        return new BtfStruct(name, (int)t.SizeOrType, members);
    }

    /// <exception cref="KeyNotFoundException">The object describes no such enum.</exception>
    public BtfEnum Enum(string name) =>
        ToEnum(Find(name, BtfKind.Enum, BtfKind.Enum64) ?? throw new KeyNotFoundException($"BTF has no enum {name}"));

    /// <summary>Bytes an object of the type occupies (an array: all its elements).</summary>
    int SizeOf(uint id)
    {
        var t = Type(id);
        return t.Kind switch
        {
            BtfKind.Int or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Float
                or BtfKind.Datasec => (int)t.SizeOrType,
            BtfKind.Ptr => 8,
            BtfKind.Array => checked((int)t.Count * SizeOf(t.ElementType)),
            BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag => SizeOf(t.SizeOrType),
            _ => throw new InvalidDataException($"BTF type {id} ({t.Kind} {t.Name}) has no size"),
        };
    }

    int? Find(string name, BtfKind kind, BtfKind orKind)
    {
        for (int id = 1; id < _types.Count; id++)
            if ((_types[id].Kind == kind || _types[id].Kind == orKind) && _types[id].Name == name)
                return id;
        return null;
    }

    BtfEnum ToEnum(int id)
    {
        var t = _types[id];
        return new BtfEnum(t.Name, (int)t.SizeOrType, t.Members.Select(m => new BtfEnumValue(m.Name, m.Value)).ToList());
    }

    RawType Type(uint id) =>
        id < _types.Count ? _types[(int)id] : throw new InvalidDataException($"BTF refers to type {id}, past its {_types.Count - 1} types");

    static RawType ReadType(ReadOnlySpan<byte> types, ref int at, ReadOnlySpan<byte> strings)
    {
        var record = Slice(types, at, 12, "type record");
        string name = Name(strings, U32(record, 0));
        uint info = U32(record, 4);
        uint sizeOrType = U32(record, 8);
        var kind = (BtfKind)((info >> 24) & 0x1f);
        int count = (int)(info & 0xffff);
        bool kindFlag = (info >> 31) != 0;
        at += 12;
        int extra = kind switch
        {
            BtfKind.Int or BtfKind.Var or BtfKind.DeclTag => 4,
            BtfKind.Array => 12,
            BtfKind.Struct or BtfKind.Union or BtfKind.Datasec or BtfKind.Enum64 => 12 * count,
            BtfKind.Enum or BtfKind.FuncProto => 8 * count,
            BtfKind.Ptr or BtfKind.Fwd or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                or BtfKind.Func or BtfKind.Float or BtfKind.TypeTag => 0,
            _ => throw new InvalidDataException($"BTF type of unknown kind {(int)kind}"),
        };
        var data = Slice(types, at, (uint)extra, $"{kind} {name}");
        at += extra;
        var members = new RawMember[kind is BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 ? count : 0];
        for (int i = 0; i < members.Length; i++)
        {
            members[i] = kind switch
            {
                // name, type, offset in bits (with kind_flag: bitfield size in the top 8 bits)
                BtfKind.Struct or BtfKind.Union => kindFlag
                    ? new RawMember(Name(strings, U32(data, i * 12)), U32(data, i * 12 + 4), U32(data, i * 12 + 8) & 0xffffff, U32(data, i * 12 + 8) >> 24, 0)
                    : new RawMember(Name(strings, U32(data, i * 12)), U32(data, i * 12 + 4), U32(data, i * 12 + 8), 0, 0),
                // name, value (signed unless kind_flag says unsigned)
                BtfKind.Enum => new RawMember(Name(strings, U32(data, i * 8)), 0, 0, 0,
                    kindFlag ? U32(data, i * 8 + 4) : (int)U32(data, i * 8 + 4)),
                // name, low 32 bits, high 32 bits
                _ => new RawMember(Name(strings, U32(data, i * 12)), 0, 0, 0,
                    (long)(((ulong)U32(data, i * 12 + 8) << 32) | U32(data, i * 12 + 4))),
            };
        }
        return kind == BtfKind.Array
            ? new RawType(kind, name, sizeOrType, U32(data, 0), U32(data, 8), members)
            : new RawType(kind, name, sizeOrType, 0, 0, members);
    }

    static string Name(ReadOnlySpan<byte> strings, uint offset)
    {
        if (offset >= strings.Length) throw new InvalidDataException($"BTF name offset {offset} is past the string section");
        var tail = strings[(int)offset..];
        int end = tail.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? tail : tail[..end]);
    }

    static uint U32(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes[offset..]);

    static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> bytes, long offset, uint length, string what) =>
        offset < 0 || offset > bytes.Length || length > bytes.Length - offset
            ? throw new InvalidDataException($"BTF {what} runs past the end of its section")
            : bytes.Slice((int)offset, (int)length);

    /// <summary>A type record. SizeOrType is the size of sized kinds and the referenced type of the
    /// others; ElementType and Count are an array's.</summary>
    sealed record RawType(BtfKind Kind, string Name, uint SizeOrType, uint ElementType, uint Count, RawMember[] Members);

    /// <summary>A struct member (Type, BitOffset, BitfieldBits) or an enum constant (Value).</summary>
    readonly record struct RawMember(string Name, uint Type, uint BitOffset, uint BitfieldBits, long Value);
}
