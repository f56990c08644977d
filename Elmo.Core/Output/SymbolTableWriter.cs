using Microsoft.Win32.SafeHandles;

namespace Elmo.Core;

/// <summary>
/// Writes a group's symbol table from its links in name order: the symbol-table nodes (full ones, then the
/// remainder) and a B-tree over them, built bottom-up, its root last. A B-tree key is the heap offset of the
/// greatest name of the subtree on its left (the first key of the leftmost nodes is the empty name at offset 0),
/// which is how libhdf5 finds a name by binary search.
/// </summary>
internal static class SymbolTableWriter
{
    /// <summary>Writes the nodes where <paramref name="layout"/> places them.</summary>
    /// <param name="file">The file.</param>
    /// <param name="layout">The file's layout (<see cref="CorpusFileLayout.Links"/> links).</param>
    /// <param name="links">Every link in the byte order of its name: the name's heap offset and the object header's address.</param>
    /// <exception cref="InvalidOperationException">The links are not as many as the layout says.</exception>
    public static void Write(SafeFileHandle file, CorpusFileLayout layout, IEnumerable<(long NameOffset, long Header)> links)
    {
        int cap = layout.SnodCapacity;
        var maxKeys = new long[layout.SnodCount];
        var snods = new RegionWriter(file, layout.SnodStart);
        var node = new byte[layout.SnodSize];
        long count = 0;
        int inNode = 0;
        foreach (var (name, header) in links)
        {
            if (count == layout.Links) throw new InvalidOperationException($"More links than the {layout.Links} the layout holds.");
            Hdf5Format.WriteSymbolEntry(node, inNode, (ulong)name, (ulong)header);
            maxKeys[count / cap] = name;
            count++;
            if (++inNode == cap) EndNode();
        }
        if (inNode > 0) EndNode();
        if (count != layout.Links) throw new InvalidOperationException($"{count} links where the layout holds {layout.Links}.");
        snods.Flush();

        // Level 0 over the symbol-table nodes, then each level over the one below, up to the root.
        var tree = new RegionWriter(file, layout.BTreeStart);
        var btree = new byte[layout.BTreeNodeSize];
        long childStart = layout.SnodStart, childSize = layout.SnodSize, levelStart = layout.BTreeStart;
        long children = layout.SnodCount;
        long[] left = [], right = maxKeys;
        for (int level = 0; level < layout.BTreeLevels.Length; level++)
        {
            long nodes = layout.BTreeLevels[level];
            var nodeLeft = new long[nodes];
            var nodeRight = new long[nodes];
            for (long j = 0; j < nodes; j++)
            {
                long first = j * layout.BTreeCapacity;
                int entries = (int)Math.Min(layout.BTreeCapacity, children - first);
                ulong leftSibling = j == 0 ? Hdf5Format.Undefined : (ulong)(levelStart + (j - 1) * layout.BTreeNodeSize);
                ulong rightSibling = j == nodes - 1 ? Hdf5Format.Undefined : (ulong)(levelStart + (j + 1) * layout.BTreeNodeSize);
                Hdf5Format.WriteBTreeNodeHeader(btree, level, entries, leftSibling, rightSibling);
                // Symbol-table nodes have no left key of their own: the left bound is the previous node's greatest name.
                long key0 = level == 0 ? (first == 0 ? 0 : right[first - 1]) : left[first];
                Hdf5Format.WriteBTreeEntry(btree, 0, (ulong)key0, entries == 0 ? null : (ulong)(childStart + first * childSize));
                for (int i = 0; i < entries; i++)
                {
                    ulong? next = i + 1 < entries ? (ulong)(childStart + (first + i + 1) * childSize) : null;
                    Hdf5Format.WriteBTreeEntry(btree, i + 1, (ulong)right[first + i], next);
                }
                nodeLeft[j] = key0;
                nodeRight[j] = entries == 0 ? key0 : right[first + entries - 1];
                tree.Write(btree);
            }
            childStart = levelStart;
            childSize = layout.BTreeNodeSize;
            levelStart += nodes * layout.BTreeNodeSize;
            children = nodes;
            left = nodeLeft;
            right = nodeRight;
        }
        tree.Flush();

        void EndNode()
        {
            Hdf5Format.WriteSnodHeader(node, inNode);
            snods.Write(node);
            node.AsSpan().Clear();
            inNode = 0;
        }
    }
}
