import CRabbitMQ
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Conversions between rabbitmq-c structures and Swift values. Decoding copies everything out of the
/// library's pools (they are recycled by `amqp_maybe_release_buffers`).
enum CBridge {
    static func string(_ bytes: amqp_bytes_t) -> String {
        guard bytes.len > 0, let pointer = bytes.bytes else { return "" }
        let buffer = UnsafeRawBufferPointer(start: pointer, count: bytes.len)
        return String(decoding: buffer, as: UTF8.self)
    }

    static func array(_ bytes: amqp_bytes_t) -> [UInt8] {
        guard bytes.len > 0, let pointer = bytes.bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: bytes.len))
    }

    static func kind(_ kind: amqp_field_value_kind_t) -> UInt8 { UInt8(truncatingIfNeeded: kind.rawValue) }

    /// Field tables nested deeper than this are not copied: the value at that depth becomes `.void` and the
    /// properties say `headersTooDeep`. No producer of ours nests more than two levels; an attacker can nest
    /// ~20,000 (as deep as frame_max allows), which a recursive copy (and the recursive release of a deeply
    /// nested Swift enum) would turn into a stack overflow on whichever thread held it.
    static let maximumTableDepth = 16

    static func table(_ table: amqp_table_t, depth: Int, truncated: inout Bool) -> [String: AMQPFieldValue] {
        guard table.num_entries > 0, let entries = table.entries else { return [:] }
        var result: [String: AMQPFieldValue] = [:]
        result.reserveCapacity(Int(table.num_entries))
        for index in 0..<Int(table.num_entries) {
            let entry = entries[index]
            result[string(entry.key)] = field(entry.value, depth: depth + 1, truncated: &truncated)
        }
        return result
    }

    static func field(_ value: amqp_field_value_t, depth: Int, truncated: inout Bool) -> AMQPFieldValue {
        if depth > maximumTableDepth,
            value.kind == kind(AMQP_FIELD_KIND_TABLE) || value.kind == kind(AMQP_FIELD_KIND_ARRAY)
        {
            truncated = true
            return .void
        }
        switch value.kind {
        case kind(AMQP_FIELD_KIND_BOOLEAN): return .bool(value.value.boolean != 0)
        case kind(AMQP_FIELD_KIND_I8): return .int(Int64(value.value.i8))
        case kind(AMQP_FIELD_KIND_U8): return .int(Int64(value.value.u8))
        case kind(AMQP_FIELD_KIND_I16): return .int(Int64(value.value.i16))
        case kind(AMQP_FIELD_KIND_U16): return .int(Int64(value.value.u16))
        case kind(AMQP_FIELD_KIND_I32): return .int(Int64(value.value.i32))
        case kind(AMQP_FIELD_KIND_U32): return .int(Int64(value.value.u32))
        case kind(AMQP_FIELD_KIND_I64): return .int(value.value.i64)
        case kind(AMQP_FIELD_KIND_U64): return .int(Int64(truncatingIfNeeded: value.value.u64))
        case kind(AMQP_FIELD_KIND_F32): return .double(Double(value.value.f32))
        case kind(AMQP_FIELD_KIND_F64): return .double(value.value.f64)
        case kind(AMQP_FIELD_KIND_DECIMAL):
            let decimal = value.value.decimal
            var scaled = Double(decimal.value)
            for _ in 0..<Int(decimal.decimals) { scaled /= 10 }
            return .double(scaled)
        case kind(AMQP_FIELD_KIND_UTF8):
            let bytes = array(value.value.bytes)
            if let text = String(validating: bytes, as: UTF8.self) { return .string(text) }
            return .bytes(bytes)
        case kind(AMQP_FIELD_KIND_BYTES): return .bytes(array(value.value.bytes))
        case kind(AMQP_FIELD_KIND_TIMESTAMP): return .timestamp(value.value.u64)
        case kind(AMQP_FIELD_KIND_TABLE): return .table(table(value.value.table, depth: depth, truncated: &truncated))
        case kind(AMQP_FIELD_KIND_ARRAY):
            let array = value.value.array
            guard array.num_entries > 0, let entries = array.entries else { return .array([]) }
            var items: [AMQPFieldValue] = []
            items.reserveCapacity(Int(array.num_entries))
            for index in 0..<Int(array.num_entries) {
                items.append(field(entries[index], depth: depth + 1, truncated: &truncated))
            }
            return .array(items)
        default: return .void
        }
    }

    static func properties(_ pointer: UnsafeRawPointer?) -> AMQPProperties {
        guard let pointer else { return AMQPProperties() }
        let p = pointer.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee
        let flags = p._flags
        func has(_ flag: amqp_flags_t) -> Bool { flags & flag != 0 }
        var result = AMQPProperties()
        if has(BG_AMQP_BASIC_CONTENT_TYPE_FLAG) { result.contentType = string(p.content_type) }
        if has(BG_AMQP_BASIC_CONTENT_ENCODING_FLAG) { result.contentEncoding = string(p.content_encoding) }
        if has(BG_AMQP_BASIC_HEADERS_FLAG) {
            var truncated = false
            result.headers = table(p.headers, depth: 0, truncated: &truncated)
            result.headersTooDeep = truncated
        }
        if has(BG_AMQP_BASIC_DELIVERY_MODE_FLAG) { result.deliveryMode = p.delivery_mode }
        if has(BG_AMQP_BASIC_PRIORITY_FLAG) { result.priority = p.priority }
        if has(BG_AMQP_BASIC_CORRELATION_ID_FLAG) { result.correlationID = string(p.correlation_id) }
        if has(BG_AMQP_BASIC_REPLY_TO_FLAG) { result.replyTo = string(p.reply_to) }
        if has(BG_AMQP_BASIC_EXPIRATION_FLAG) { result.expiration = string(p.expiration) }
        if has(BG_AMQP_BASIC_MESSAGE_ID_FLAG) { result.messageID = string(p.message_id) }
        if has(BG_AMQP_BASIC_TIMESTAMP_FLAG) { result.timestamp = p.timestamp }
        if has(BG_AMQP_BASIC_TYPE_FLAG) { result.type = string(p.type) }
        if has(BG_AMQP_BASIC_USER_ID_FLAG) { result.userID = string(p.user_id) }
        if has(BG_AMQP_BASIC_APP_ID_FLAG) { result.appID = string(p.app_id) }
        return result
    }
}

/// C memory for one outgoing call (strings, tables); everything is freed when the arena goes away.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    private func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        let pointer = malloc(max(size, 1))!
        allocations.append(pointer)
        return pointer
    }

    func bytes(_ array: [UInt8]) -> amqp_bytes_t {
        guard !array.isEmpty else { return amqp_bytes_t(len: 0, bytes: nil) }
        let pointer = allocate(array.count)
        array.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: array.count) }
        return amqp_bytes_t(len: array.count, bytes: pointer)
    }

    func bytes(_ string: String) -> amqp_bytes_t { bytes(Array(string.utf8)) }

    /// A NUL-terminated copy of `string`.
    func cString(_ string: String) -> UnsafePointer<CChar> {
        let utf8 = Array(string.utf8)
        let pointer = allocate(utf8.count + 1).assumingMemoryBound(to: CChar.self)
        for (index, byte) in utf8.enumerated() { pointer[index] = CChar(bitPattern: byte) }
        pointer[utf8.count] = 0
        return UnsafePointer(pointer)
    }

    func table(_ dictionary: [String: AMQPFieldValue]) -> amqp_table_t {
        guard !dictionary.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let entries = allocate(MemoryLayout<amqp_table_entry_t>.stride * dictionary.count)
            .bindMemory(to: amqp_table_entry_t.self, capacity: dictionary.count)
        for (index, key) in dictionary.keys.sorted().enumerated() {
            entries.advanced(by: index).initialize(
                to: amqp_table_entry_t(key: bytes(key), value: field(dictionary[key]!)))
        }
        return amqp_table_t(num_entries: Int32(dictionary.count), entries: entries)
    }

    func field(_ value: AMQPFieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .bool(let flag):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_BOOLEAN)
            field.value.boolean = flag ? 1 : 0
        case .int(let number):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_I64)
            field.value.i64 = number
        case .double(let number):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_F64)
            field.value.f64 = number
        case .string(let text):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_UTF8)
            field.value.bytes = bytes(text)
        case .bytes(let data):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_BYTES)
            field.value.bytes = bytes(data)
        case .timestamp(let seconds):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_TIMESTAMP)
            field.value.u64 = seconds
        case .table(let dictionary):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_TABLE)
            field.value.table = table(dictionary)
        case .array(let values):
            field.kind = CBridge.kind(AMQP_FIELD_KIND_ARRAY)
            if values.isEmpty {
                field.value.array = amqp_array_t(num_entries: 0, entries: nil)
            } else {
                let entries = allocate(MemoryLayout<amqp_field_value_t>.stride * values.count)
                    .bindMemory(to: amqp_field_value_t.self, capacity: values.count)
                for (index, element) in values.enumerated() {
                    entries.advanced(by: index).initialize(to: self.field(element))
                }
                field.value.array = amqp_array_t(num_entries: Int32(values.count), entries: entries)
            }
        case .void:
            field.kind = CBridge.kind(AMQP_FIELD_KIND_VOID)
        }
        return field
    }

    func properties(_ properties: AMQPProperties) -> amqp_basic_properties_t {
        var p = amqp_basic_properties_t()
        var flags: amqp_flags_t = 0
        if let value = properties.contentType {
            p.content_type = bytes(value)
            flags |= BG_AMQP_BASIC_CONTENT_TYPE_FLAG
        }
        if let value = properties.contentEncoding {
            p.content_encoding = bytes(value)
            flags |= BG_AMQP_BASIC_CONTENT_ENCODING_FLAG
        }
        if !properties.headers.isEmpty {
            p.headers = table(properties.headers)
            flags |= BG_AMQP_BASIC_HEADERS_FLAG
        }
        if let value = properties.deliveryMode {
            p.delivery_mode = value
            flags |= BG_AMQP_BASIC_DELIVERY_MODE_FLAG
        }
        if let value = properties.priority {
            p.priority = value
            flags |= BG_AMQP_BASIC_PRIORITY_FLAG
        }
        if let value = properties.correlationID {
            p.correlation_id = bytes(value)
            flags |= BG_AMQP_BASIC_CORRELATION_ID_FLAG
        }
        if let value = properties.replyTo {
            p.reply_to = bytes(value)
            flags |= BG_AMQP_BASIC_REPLY_TO_FLAG
        }
        if let value = properties.expiration {
            p.expiration = bytes(value)
            flags |= BG_AMQP_BASIC_EXPIRATION_FLAG
        }
        if let value = properties.messageID {
            p.message_id = bytes(value)
            flags |= BG_AMQP_BASIC_MESSAGE_ID_FLAG
        }
        if let value = properties.timestamp {
            p.timestamp = value
            flags |= BG_AMQP_BASIC_TIMESTAMP_FLAG
        }
        if let value = properties.type {
            p.type = bytes(value)
            flags |= BG_AMQP_BASIC_TYPE_FLAG
        }
        if let value = properties.userID {
            p.user_id = bytes(value)
            flags |= BG_AMQP_BASIC_USER_ID_FLAG
        }
        if let value = properties.appID {
            p.app_id = bytes(value)
            flags |= BG_AMQP_BASIC_APP_ID_FLAG
        }
        p._flags = flags
        return p
    }
}
