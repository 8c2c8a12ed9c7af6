/**
 * A small, fast DICOM Part 10 parser for headers: preamble + File Meta group, then the dataset up to (and
 * including the position of) Pixel Data. Handles Explicit VR Little Endian, Implicit VR Little Endian, Explicit VR
 * Big Endian, Deflated Explicit VR LE, files without preamble/meta ("no_meta": implicit or explicit LE guessed
 * from the first element), undefined-length sequences and items, and nested sequences (kept as nested datasets so
 * that enhanced multi-frame functional groups can be read).
 *
 * Values are not decoded while parsing: an element records where its value lies in the buffer, and
 * {@link DataSet} decodes on demand. Parsing never reads voxel data.
 */
import { inflateRawSync } from 'node:zlib';

/** `(group << 16) | element` as an unsigned 32-bit number. */
export type Tag = number;

export const tag = (group: number, element: number): Tag => ((group << 16) | element) >>> 0;

export function tagString(t: Tag): string {
  return `(${(t >>> 16).toString(16).padStart(4, '0')},${(t & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();
}

/** Well-known tags used by the reader. */
export const T = {
  TransferSyntaxUID: tag(0x0002, 0x0010),
  MediaStorageSOPClassUID: tag(0x0002, 0x0002),
  ImageType: tag(0x0008, 0x0008),
  SOPClassUID: tag(0x0008, 0x0016),
  SOPInstanceUID: tag(0x0008, 0x0018),
  StudyDate: tag(0x0008, 0x0020),
  StudyTime: tag(0x0008, 0x0030),
  AccessionNumber: tag(0x0008, 0x0050),
  Modality: tag(0x0008, 0x0060),
  Manufacturer: tag(0x0008, 0x0070),
  InstitutionName: tag(0x0008, 0x0080),
  StudyDescription: tag(0x0008, 0x1030),
  SeriesDescription: tag(0x0008, 0x103e),
  PatientName: tag(0x0010, 0x0010),
  PatientID: tag(0x0010, 0x0020),
  PatientBirthDate: tag(0x0010, 0x0030),
  PatientSex: tag(0x0010, 0x0040),
  PatientAge: tag(0x0010, 0x1010),
  BodyPartExamined: tag(0x0018, 0x0015),
  SliceThickness: tag(0x0018, 0x0050),
  SpacingBetweenSlices: tag(0x0018, 0x0088),
  EchoNumbers: tag(0x0018, 0x0086),
  StudyInstanceUID: tag(0x0020, 0x000d),
  SeriesInstanceUID: tag(0x0020, 0x000e),
  StudyID: tag(0x0020, 0x0010),
  SeriesNumber: tag(0x0020, 0x0011),
  AcquisitionNumber: tag(0x0020, 0x0012),
  InstanceNumber: tag(0x0020, 0x0013),
  ImagePositionPatient: tag(0x0020, 0x0032),
  ImageOrientationPatient: tag(0x0020, 0x0037),
  FrameOfReferenceUID: tag(0x0020, 0x0052),
  TemporalPositionIdentifier: tag(0x0020, 0x0100),
  SamplesPerPixel: tag(0x0028, 0x0002),
  PhotometricInterpretation: tag(0x0028, 0x0004),
  PlanarConfiguration: tag(0x0028, 0x0006),
  NumberOfFrames: tag(0x0028, 0x0008),
  Rows: tag(0x0028, 0x0010),
  Columns: tag(0x0028, 0x0011),
  PixelSpacing: tag(0x0028, 0x0030),
  BitsAllocated: tag(0x0028, 0x0100),
  BitsStored: tag(0x0028, 0x0101),
  HighBit: tag(0x0028, 0x0102),
  PixelRepresentation: tag(0x0028, 0x0103),
  RescaleIntercept: tag(0x0028, 0x1052),
  RescaleSlope: tag(0x0028, 0x1053),
  SharedFunctionalGroups: tag(0x5200, 0x9229),
  PerFrameFunctionalGroups: tag(0x5200, 0x9230),
  PlanePositionSequence: tag(0x0020, 0x9113),
  PlaneOrientationSequence: tag(0x0020, 0x9116),
  PixelMeasuresSequence: tag(0x0028, 0x9110),
  PixelValueTransformationSequence: tag(0x0028, 0x9145),
  FrameContentSequence: tag(0x0020, 0x9111),
  StackID: tag(0x0020, 0x9056),
  InStackPositionNumber: tag(0x0020, 0x9057),
  TemporalPositionIndex: tag(0x0020, 0x9128),
  DimensionIndexValues: tag(0x0020, 0x9157),
  FloatPixelData: tag(0x7fe0, 0x0008),
  DoubleFloatPixelData: tag(0x7fe0, 0x0009),
  PixelData: tag(0x7fe0, 0x0010),
  Item: tag(0xfffe, 0xe000),
  ItemDelimitation: tag(0xfffe, 0xe00d),
  SequenceDelimitation: tag(0xfffe, 0xe0dd),
} as const;

export const TS = {
  ImplicitLE: '1.2.840.10008.1.2',
  ExplicitLE: '1.2.840.10008.1.2.1',
  DeflatedLE: '1.2.840.10008.1.2.1.99',
  ExplicitBE: '1.2.840.10008.1.2.2',
  RLE: '1.2.840.10008.1.2.5',
} as const;

/** Element VRs that use a 4-byte length in explicit VR (after two reserved bytes). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
/** VRs whose values are binary numbers (decoded with the dataset's endianness). */
const BINARY_VRS: Record<string, { size: number; read: (v: DataView, o: number, le: boolean) => number }> = {
  US: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  SS: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  UL: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  SL: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  FL: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  FD: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
};

/**
 * VRs of the tags we read, for Implicit VR datasets (where the file does not say). Anything not listed is kept as
 * raw bytes; undefined-length elements are always parsed as sequences.
 */
const IMPLICIT_VR: Map<Tag, string> = new Map([
  [T.SamplesPerPixel, 'US'],
  [T.PlanarConfiguration, 'US'],
  [T.Rows, 'US'],
  [T.Columns, 'US'],
  [T.BitsAllocated, 'US'],
  [T.BitsStored, 'US'],
  [T.HighBit, 'US'],
  [T.PixelRepresentation, 'US'],
  [T.SharedFunctionalGroups, 'SQ'],
  [T.PerFrameFunctionalGroups, 'SQ'],
  [T.PlanePositionSequence, 'SQ'],
  [T.PlaneOrientationSequence, 'SQ'],
  [T.PixelMeasuresSequence, 'SQ'],
  [T.PixelValueTransformationSequence, 'SQ'],
  [T.FrameContentSequence, 'SQ'],
  [T.DimensionIndexValues, 'UL'],
  [T.TemporalPositionIndex, 'UL'],
  [T.InStackPositionNumber, 'UL'],
  [T.PixelData, 'OW'],
]);

export interface Element {
  tag: Tag;
  vr: string;
  /** Byte offset of the value in the parser's buffer (for pixel data: in the file). */
  offset: number;
  /** Value length in bytes; -1 for undefined length (encapsulated pixel data, sequences). */
  length: number;
  /** Items of a sequence. */
  items?: DataSet[];
}

/** Thrown when the buffer ends before the element being parsed: the caller reads more of the file and retries. */
export class NeedMoreData extends Error {
  constructor(readonly needBytes: number) {
    super(`need at least ${needBytes} bytes`);
  }
}

/** Thrown for bytes that are not a well-formed DICOM stream. */
export class MalformedDicom extends Error {}

/** A parsed (sub)dataset: elements by tag, with value decoding helpers. */
export class DataSet {
  readonly elements = new Map<Tag, Element>();
  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
  ) {}

  private get view(): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  has(t: Tag): boolean {
    return this.elements.has(t);
  }

  /** Raw bytes of an element's value (undefined if absent or of undefined length). */
  raw(t: Tag): Uint8Array | undefined {
    const e = this.elements.get(t);
    if (!e || e.length < 0 || e.offset + e.length > this.bytes.byteLength) return undefined;
    return this.bytes.subarray(e.offset, e.offset + e.length);
  }

  /** String value with trailing padding (spaces, NULs) removed; multi-valued strings keep their backslashes. */
  string(t: Tag): string | undefined {
    const r = this.raw(t);
    if (!r) return undefined;
    let s = '';
    for (let i = 0; i < r.length; i++) s += String.fromCharCode(r[i]!);
    return s.replace(/[\0 ]+$/, '').replace(/^ +/, '');
  }

  /** Numbers of a DS/IS (text) or US/SS/UL/SL/FL/FD (binary) element; [] when absent. */
  numbers(t: Tag): number[] {
    const e = this.elements.get(t);
    if (!e) return [];
    const bin = BINARY_VRS[e.vr];
    if (bin) {
      const out: number[] = [];
      const v = this.view;
      for (let o = e.offset; o + bin.size <= e.offset + e.length; o += bin.size) out.push(bin.read(v, o, this.littleEndian));
      return out;
    }
    // Implicit VR private tags we read (e.g. Siemens NumberOfImagesInMosaic): 2 bytes that are not text → US.
    if ((e.vr === 'UN' || e.vr === '??') && e.length === 2) {
      const r = this.raw(t)!;
      if (r[0]! < 0x20 || r[1]! < 0x20 || r[1] === 0) return [this.view.getUint16(e.offset, this.littleEndian)];
    }
    const s = this.string(t);
    if (s === undefined || s === '') return [];
    return s.split('\\').map((x) => Number(x.trim()));
  }

  number(t: Tag): number | undefined {
    const n = this.numbers(t)[0];
    return n === undefined || Number.isNaN(n) ? undefined : n;
  }

  items(t: Tag): DataSet[] {
    return this.elements.get(t)?.items ?? [];
  }

  /** First item of a sequence, if any. */
  item(t: Tag): DataSet | undefined {
    return this.items(t)[0];
  }
}

export interface ParsedDicom {
  /** Transfer syntax UID of the dataset (from the meta group, or guessed for files without one). */
  transferSyntax: string;
  /** Whether the file had the 128-byte preamble and "DICM". */
  hasPreamble: boolean;
  meta: DataSet;
  dataset: DataSet;
  /** Pixel Data element, with `offset` relative to the start of the FILE (undefined if the dataset has none). */
  pixelData?: Element;
}

interface Cursor {
  pos: number;
}

/**
 * Parse elements from `bytes` starting at `cur.pos` until `end` (exclusive), an item delimiter (when inside an
 * undefined-length item), or Pixel Data (top level only; its position is recorded and parsing stops).
 */
function parseElements(
  bytes: Uint8Array,
  cur: Cursor,
  end: number,
  explicit: boolean,
  le: boolean,
  into: DataSet,
  depth: number,
  onPixelData?: (e: Element) => void,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (depth > 32) throw new MalformedDicom('sequences nested more than 32 deep');
  while (cur.pos < end) {
    if (cur.pos + 8 > bytes.byteLength) throw new NeedMoreData(cur.pos + 8);
    const group = view.getUint16(cur.pos, le);
    const elem = view.getUint16(cur.pos + 2, le);
    const t = tag(group, elem);
    if (t === T.ItemDelimitation || t === T.SequenceDelimitation) {
      cur.pos += 8;
      return; // end of an undefined-length item
    }
    let vr: string;
    let length: number;
    let headerLength: number;
    // Items and delimiters never carry a VR, in any transfer syntax.
    if (group === 0xfffe) {
      throw new MalformedDicom(`unexpected item tag ${tagString(t)} at byte ${cur.pos}`);
    }
    if (explicit) {
      vr = String.fromCharCode(bytes[cur.pos + 4]!, bytes[cur.pos + 5]!);
      if (!/^[A-Z]{2}$/.test(vr)) throw new MalformedDicom(`invalid VR at byte ${cur.pos} for ${tagString(t)}`);
      if (LONG_VRS.has(vr)) {
        if (cur.pos + 12 > bytes.byteLength) throw new NeedMoreData(cur.pos + 12);
        length = view.getUint32(cur.pos + 8, le);
        headerLength = 12;
      } else {
        length = view.getUint16(cur.pos + 6, le);
        headerLength = 8;
      }
    } else {
      vr = IMPLICIT_VR.get(t) ?? (elem === 0 ? 'UL' : '??');
      length = view.getUint32(cur.pos + 4, le);
      headerLength = 8;
    }
    const undefinedLength = length === 0xffffffff;
    const valueStart = cur.pos + headerLength;
    if (t === T.PixelData || t === T.FloatPixelData || t === T.DoubleFloatPixelData) {
      const e: Element = { tag: t, vr, offset: valueStart, length: undefinedLength ? -1 : length };
      into.elements.set(t, e);
      if (onPixelData) {
        onPixelData(e);
        cur.pos = end;
        return;
      }
      // Pixel data nested in an item (icon image sequences): skip it.
      if (undefinedLength) {
        cur.pos = skipEncapsulated(bytes, valueStart, le);
      } else cur.pos = valueStart + length;
      continue;
    }
    if (vr === 'SQ' || (undefinedLength && (vr === '??' || vr === 'UN'))) {
      // Sequences: UN with undefined length is an implicit-VR-LE encoded sequence (PS3.5 6.2.2).
      const seqExplicit = vr === 'UN' ? false : explicit;
      const seqLe = vr === 'UN' ? true : le;
      const items: DataSet[] = [];
      const seqEnd = undefinedLength ? Number.POSITIVE_INFINITY : valueStart + length;
      if (!undefinedLength && seqEnd > bytes.byteLength) throw new NeedMoreData(seqEnd);
      cur.pos = valueStart;
      for (;;) {
        if (!undefinedLength && cur.pos >= seqEnd) break;
        if (cur.pos + 8 > bytes.byteLength) throw new NeedMoreData(cur.pos + 8);
        const ig = view.getUint16(cur.pos, seqLe);
        const ie = view.getUint16(cur.pos + 2, seqLe);
        const itemLength = view.getUint32(cur.pos + 4, seqLe);
        const it = tag(ig, ie);
        cur.pos += 8;
        if (it === T.SequenceDelimitation) break;
        if (it !== T.Item) throw new MalformedDicom(`expected an item in sequence ${tagString(t)} at byte ${cur.pos - 8}`);
        const item = new DataSet(bytes, seqLe);
        if (itemLength === 0xffffffff) {
          parseElements(bytes, cur, Number.POSITIVE_INFINITY, seqExplicit, seqLe, item, depth + 1);
        } else {
          const itemEnd = cur.pos + itemLength;
          if (itemEnd > bytes.byteLength) throw new NeedMoreData(itemEnd);
          parseElements(bytes, cur, itemEnd, seqExplicit, seqLe, item, depth + 1);
          cur.pos = itemEnd;
        }
        items.push(item);
      }
      into.elements.set(t, { tag: t, vr: 'SQ', offset: valueStart, length: undefinedLength ? -1 : length, items });
      continue;
    }
    if (undefinedLength) throw new MalformedDicom(`undefined length for non-sequence ${tagString(t)} (${vr})`);
    const valueEnd = valueStart + length;
    // Values we may decode must be in the buffer; large ones we only skip (the caller re-reads if it needs them).
    if (valueEnd > bytes.byteLength) throw new NeedMoreData(valueEnd);
    into.elements.set(t, { tag: t, vr, offset: valueStart, length });
    cur.pos = valueEnd;
  }
}

/** Position just after an encapsulated (undefined-length) pixel data element's sequence delimiter. */
function skipEncapsulated(bytes: Uint8Array, start: number, le: boolean): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = start;
  for (;;) {
    if (p + 8 > bytes.byteLength) throw new NeedMoreData(p + 8);
    const t = tag(view.getUint16(p, le), view.getUint16(p + 2, le));
    const len = view.getUint32(p + 4, le);
    p += 8;
    if (t === T.SequenceDelimitation) return p;
    if (t !== T.Item) throw new MalformedDicom(`bad fragment in encapsulated pixel data at byte ${p - 8}`);
    p += len;
  }
}

/**
 * Parse a DICOM file's header from the first bytes of the file. Throws {@link NeedMoreData} when `bytes` ends
 * before Pixel Data (or the end of the dataset) and `complete` is false; throws {@link MalformedDicom} for
 * bytes that are not DICOM. Returns undefined when the bytes do not look like DICOM at all.
 *
 * @param bytes the file's bytes (a prefix of it unless `complete`)
 * @param complete whether `bytes` is the whole file
 */
export function parseDicom(bytes: Uint8Array, complete: boolean): ParsedDicom | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hasPreamble =
    bytes.byteLength >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
  const meta = new DataSet(bytes, true);
  let pos = 0;
  if (hasPreamble) {
    pos = 132;
  } else {
    // No preamble: accept a dataset that starts with a plausible group (0002 meta, or 0008 data) — as DCMTK does.
    if (bytes.byteLength < 8) return undefined;
    const g = view.getUint16(0, true);
    if (g !== 0x0002 && g !== 0x0008) return undefined;
  }
  // File Meta Information: always explicit VR little endian.
  if (bytes.byteLength >= pos + 6 && view.getUint16(pos, true) === 0x0002) {
    const cur = { pos };
    // Parse group 2 elements only.
    const metaEnd = findGroupEnd(bytes, pos, complete);
    parseElements(bytes, cur, metaEnd, true, true, meta, 0);
    pos = metaEnd;
  } else if (hasPreamble) {
    // A preamble but no meta group: tolerate (some old writers) and guess below.
  }
  let ts = meta.string(T.TransferSyntaxUID);
  let explicit: boolean;
  let le: boolean;
  if (!ts) {
    // Guess: explicit VR if the bytes after the first tag look like a VR.
    if (bytes.byteLength < pos + 8) return undefined;
    const vr = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!);
    explicit = /^[A-Z]{2}$/.test(vr);
    le = true;
    ts = explicit ? TS.ExplicitLE : TS.ImplicitLE;
  } else {
    explicit = ts !== TS.ImplicitLE;
    le = ts !== TS.ExplicitBE;
  }
  let body = bytes;
  let bodyStart = pos;
  let deflated = false;
  if (ts === TS.DeflatedLE) {
    if (!complete) throw new NeedMoreData(Number.MAX_SAFE_INTEGER);
    try {
      body = inflateRawSync(bytes.subarray(pos));
    } catch (e) {
      throw new MalformedDicom(`deflated dataset does not inflate: ${(e as Error).message}`);
    }
    bodyStart = 0;
    deflated = true;
  }
  const dataset = new DataSet(body, le);
  let pixelData: Element | undefined;
  const cur = { pos: bodyStart };
  try {
    parseElements(body, cur, complete || deflated ? body.byteLength : Number.POSITIVE_INFINITY, explicit, le, dataset, 0, (e) => {
      pixelData = { ...e };
    });
  } catch (e) {
    if (e instanceof NeedMoreData && complete) throw new MalformedDicom(`file ends inside the header (needs ${e.needBytes} bytes, has ${bytes.byteLength})`);
    throw e;
  }
  if (deflated && pixelData) {
    // Offsets point into the inflated buffer: mark as such with a negative sentinel handled by the reader.
    pixelData = { ...pixelData, vr: pixelData.vr + ':deflated' };
  }
  return { transferSyntax: ts, hasPreamble, meta, dataset, ...(pixelData ? { pixelData } : {}) };
}

/** End of the group-0002 elements starting at `pos` (explicit VR LE). */
function findGroupEnd(bytes: Uint8Array, pos: number, complete: boolean): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = pos;
  for (;;) {
    if (p + 8 > bytes.byteLength) {
      if (complete) return p;
      throw new NeedMoreData(p + 8);
    }
    if (view.getUint16(p, true) !== 0x0002) return p;
    const vr = String.fromCharCode(bytes[p + 4]!, bytes[p + 5]!);
    if (!/^[A-Z]{2}$/.test(vr)) throw new MalformedDicom(`invalid VR in file meta group at byte ${p}`);
    if (LONG_VRS.has(vr)) {
      if (p + 12 > bytes.byteLength) throw new NeedMoreData(p + 12);
      p += 12 + view.getUint32(p + 8, true);
    } else p += 8 + view.getUint16(p + 6, true);
  }
}
