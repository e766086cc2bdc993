namespace Profiler.Collectors.Linux.Bpf;

/// <summary>A struct or union as clang laid it out: its size and every member's place, in bytes.</summary>
public sealed record BtfStruct(string Name, int Size, IReadOnlyList<BtfMember> Members);

/// <summary>One member of a <see cref="BtfStruct"/>; offset and size in bytes.</summary>
public sealed record BtfMember(string Name, int Offset, int Size);

/// <summary>An enum's constants, in declaration order.</summary>
public sealed record BtfEnum(string Name, int Size, IReadOnlyList<BtfEnumValue> Values);

public readonly record struct BtfEnumValue(string Name, long Value);

/// <summary>Type kinds of the BTF format (include/uapi/linux/btf.h), numbered as there.</summary>
enum BtfKind
{
    Void = 0, Int = 1, Ptr = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Fwd = 7, Typedef = 8,
    Volatile = 9, Const = 10, Restrict = 11, Func = 12, FuncProto = 13, Var = 14, Datasec = 15,
    Float = 16, DeclTag = 17, TypeTag = 18, Enum64 = 19,
}
