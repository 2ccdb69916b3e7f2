// The array unit (docs/architecture.md "Array (weight stationary)"): preload engine with the
// cluster decoders, matmul streaming with the beat grid, the row metadata that follows every
// activation row to its obuf write, and in-order retirement of array ops.
//   preload: issue cycle c clears the next weight set (the sets are used in turn, pe.weight_sets);
//            it may issue once no row using that set is left in the array; cycles c+1 .. c+k write array rows
//            0 .. k-1 (wbuf read, decode); finish at the edge of cycle c+k.
//   matmul:  issues at a beat start; injects one activation row per beat; the row written at the
//            end of beat b + R + C - 2 (read-modify-write when acc=1); finish at its last row.
// can_preload / can_matmul say whether an op of that kind may issue in this cycle.
`default_nettype none

module fq_array_ctrl #(
    parameter ROWS   = 4,
    parameter COLS   = 4,
    parameter KIND   = 0,   // 0 temporal, 1 mac, 2 bit-serial
    parameter WBITS  = 8,   // mac weight bits; bit-serial: the widest INTb weights
    parameter QW     = (KIND == 0) ? 4 : (KIND == 1) ? WBITS : (WBITS > 4) ? WBITS : 4,
    parameter WSETS  = 2,   // weight register sets per PE, 1 .. 8
    parameter ACC_W  = 32,  // partial-sum bits in the array (pe.acc_bits): the column sums fit, obuf holds 32
    parameter TW     = (WSETS > 2) ? $clog2(WSETS) : 1
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  tile_window, // FineQ-R on temporal: 0 fixed (W = 4), 1 tile (W = max |q|
                                              // of the tile); on bit-serial: 0 fixed (W = 3), 1 tile (W = 2
                                              // without outlier clusters). Held from reset on.
    input  wire                  issue_preload,
    input  wire                  issue_matmul,
    input  wire [31:0]           src,
    input  wire [31:0]           src_stride,
    input  wire [31:0]           dst,
    input  wire [31:0]           dst_stride,
    input  wire [31:0]           m,
    input  wire [31:0]           k,
    input  wire [31:0]           n,
    input  wire                  acc,
    input  wire [3:0]            fmt,        // 0 FineQ-R, else the weight bits B
    output wire                  can_preload,
    output wire                  can_matmul,
    output wire [32*COLS-1:0]    wb_raddr,   // per column: two wbuf bytes from here
    input  wire [16*COLS-1:0]    wb_rdata,
    output wire [31:0]           ab_raddr,   // ROWS abuf bytes from here
    input  wire [8*ROWS-1:0]     ab_rdata,
    output wire [31:0]           ob_addr,    // the result row: read (acc=1) and written
    input  wire [32*COLS-1:0]    ob_rdata,
    output wire                  ob_we,
    output wire [32*COLS-1:0]    ob_wdata,
    output wire [COLS-1:0]       ob_wmask,
    output wire [7:0]            retire_n,   // array ops completed at this edge, in order
    output wire [ROWS*COLS-1:0]  pulses,
    output wire [ROWS*COLS-1:0]  pe_valid,
    output wire [ROWS*COLS-1:0]  psum_we,    // per PE: register writes (fq_array.v)
    output wire [ROWS*COLS-1:0]  opnd_we,
    output wire [ROWS*COLS-1:0]  valid_we,
    output wire [ROWS*COLS-1:0]  w_we,
    output wire [ROWS-1:0]       skew_we,    // skew and deskew register writes (fq_array.v)
    output wire [COLS-1:0]       deskew_we,
    output wire                  skew_shift,
    output wire                  deskew_shift,
    // The controller's own register writes (docs/energy.md "Register writes"): one enable per
    // group of registers written together (FQ_CTRL_* below), each op slot's finished bit, each
    // weight set's row count.
    output wire [11:0]           ctrl_we,
    output wire [(1 << $clog2(ROWS + COLS + 4))-1:0] fin_we,
    output wire [WSETS-1:0]      set_rows_we
);
  localparam SD = 1 << $clog2(ROWS + COLS + 4);  // array ops in flight, at most
  localparam SB = $clog2(SD);
  localparam LAT = ROWS + COLS - 2;               // beats from entry to the row's write
  // Row metadata ring: one entry per row in flight (LAT + 1), indexed by the entry beat modulo RD,
  // so a row's entry is read one index after the one being written (a power-of-two ring would
  // double at 33 x 32).
  localparam RD = LAT + 1;
  localparam RB = (RD > 1) ? $clog2(RD) : 1;
  localparam [31:0]   RD_LAST32 = RD - 1;
  localparam [RB-1:0] LAST_BEAT = RD_LAST32[RB-1:0];

  // ---- weight sets, preload ----
  reg [TW-1:0] active;          // set of the committed tile
  reg        pending;           // a preloaded tile no matmul has used yet
  reg        pending_complete;
  reg [3:0]  set_beat [0:WSETS-1];  // W, 1 .. 8
  reg [31:0] set_k [0:WSETS-1];
  reg [31:0] set_n [0:WSETS-1];
  reg [31:0] set_rows [0:WSETS-1];  // issued rows using each set, not yet written
  reg        pre_busy;
  reg [31:0] pre_src, pre_stride, pre_k, pre_n, pre_i, pre_bit;
  reg [3:0]  pre_fmt;
  reg [1:0]  pre_sub;           // FineQ-R: position of row pre_i in its cluster
  reg [31:0] pre_byte;          // FineQ-R: cluster (byte) of row pre_i
  reg [2:0]  pre_max;
  reg        pre_outl;          // FineQ-R: an outlier cluster (idx != 0) among the rows so far
  reg [SB-1:0] pre_slot;
  reg [TW-1:0] pre_set_r;       // the set the running preload writes
  reg [SB-1:0] slot_rd, slot_wr;  // in-order retirement: oldest op in flight, next free slot
  reg [SD-1:0] fin;               // op in slot finished
  // The set after the committed one: a pending tile's, or the one the next preload overwrites
  // (used by the tile WSETS - 1 before the committed one).
  localparam [31:0]   LAST32   = WSETS - 1;
  localparam [TW-1:0] LAST_SET = LAST32[TW-1:0];
  wire [TW-1:0] next_set = (active == LAST_SET) ? {TW{1'b0}} : active + 1'b1;
  wire [TW-1:0] pre_set  = next_set;

  assign can_preload = !(pending && !pending_complete) && set_rows[next_set] == 32'd0;

  // Row i of the tile, column j: FineQ-R through the decoder, INTb from its bit offset.
  wire [QW*COLS-1:0] w_data;
  wire [3*COLS-1:0]  w_mag;
  wire [COLS-1:0]    w_outl;
  genvar j;
  generate
    for (j = 0; j < COLS; j = j + 1) begin : g_wcol
      wire [31:0] row_base = pre_src + j * pre_stride;
      assign wb_raddr[32*j +: 32] = row_base + ((pre_fmt == 4'd0) ? pre_byte : (pre_bit >> 3));
      wire [15:0] two = wb_rdata[16*j +: 16];
      wire [3:0] f0, f1, f2;
      fq_cluster_decoder dec (.code(two[7:0]), .q0(f0), .q1(f1), .q2(f2));
      wire [3:0] fq = (pre_sub == 2'd0) ? f0 : (pre_sub == 2'd1) ? f1 : f2;
      wire [7:0] raw = two[{1'b0, pre_bit[2:0]} +: 8];
      wire [7:0] ib = (pre_fmt == 4'd8) ? raw
                    : (pre_fmt == 4'd4) ? {{4{raw[3]}}, raw[3:0]}
                    : (pre_fmt == 4'd3) ? {{5{raw[2]}}, raw[2:0]}
                    : {{6{raw[1]}}, raw[1:0]};
      wire [7:0] q8 = (pre_fmt == 4'd0) ? {{4{fq[3]}}, fq} : ib;
      assign w_data[QW*j +: QW] = q8[QW-1:0];
      wire [7:0] mag8 = q8[7] ? 8'd0 - q8 : q8;
      assign w_mag[3*j +: 3] = (j < pre_n && mag8 < 8'd8) ? mag8[2:0] : 3'd0;
      assign w_outl[j] = j < pre_n && pre_fmt == 4'd0 && two[7:6] != 2'd0;
    end
  endgenerate
  reg [2:0] row_max;
  integer c;
  always @(*) begin
    row_max = 3'd0;
    for (c = 0; c < COLS; c = c + 1) if (w_mag[3*c +: 3] > row_max) row_max = w_mag[3*c +: 3];
  end
  wire [2:0] tile_max = row_max > pre_max ? row_max : pre_max;
  wire       tile_outl = pre_outl || w_outl != {COLS{1'b0}};
  // Bit-serial: the bit width of the tile's magnitudes, b for INTb; FineQ-R |q| <= 2 fits 2 bits
  // unless a cluster is an outlier cluster (|q| <= 4, 3 bits).
  wire [3:0] bs_beat   = (pre_fmt != 4'd0) ? pre_fmt : (!tile_window || tile_outl) ? 4'd3 : 4'd2;
  wire [3:0] tile_beat = (KIND == 1) ? 4'd1 : (KIND == 2) ? bs_beat : !tile_window ? 4'd4
                       : (tile_max == 3'd0) ? 4'd1 : {1'b0, tile_max};
  wire       pre_write = pre_busy && pre_i < pre_k;  // cycles c+1 .. c+k
  wire       pre_last = pre_write && pre_i + 32'd1 == pre_k;
  reg [COLS-1:0] w_cols;
  always @(*) begin
    for (c = 0; c < COLS; c = c + 1) w_cols[c] = c < pre_n;
  end

  // ---- matmul streaming and the beat grid ----
  reg [31:0] st_left, st_next, st_src, st_stride, st_dst, st_dstride;
  reg        st_acc;
  reg [TW-1:0] st_set;
  reg [SB-1:0] st_slot;
  reg [3:0]  grid_w;            // W of the running grid, 1 .. 8
  reg [2:0]  phase;
  reg [RB-1:0] beat;            // entry beat modulo RD; any origin serves, the ring is read LAT beats back

  wire [TW-1:0] new_set = pending ? next_set : active;
  wire [3:0] new_w    = set_beat[new_set];
  // Rows in flight: the sum of set_rows, so any non-zero set count.
  reg        flying;
  always @(*) begin
    flying = 1'b0;
    for (c = 0; c < WSETS; c = c + 1) if (set_rows[c] != 32'd0) flying = 1'b1;
  end
  assign can_matmul = !(pending && !pending_complete) && st_left == 32'd0 &&
                      (!flying || (new_w == grid_w && phase == 3'd0));

  wire       epoch    = issue_matmul && !flying;      // a new beat grid starts now
  wire       run      = flying || issue_matmul;
  wire [3:0] w_now    = epoch ? new_w : grid_w;
  wire [2:0] ph_now   = epoch ? 3'd0 : phase;
  wire       b_start  = !run || ph_now == 3'd0;
  wire       b_end    = !run || {1'b0, ph_now} + 4'd1 == w_now;

  // The row entering at this beat start: the issuing matmul's first, or the next of the stream.
  wire        inject   = run && b_start && (issue_matmul || st_left != 32'd0);
  wire [31:0] i_src    = issue_matmul ? src : st_src;
  wire [31:0] i_stride = issue_matmul ? src_stride : st_stride;
  wire [31:0] i_row    = issue_matmul ? 32'd0 : st_next;
  wire [31:0] i_m      = issue_matmul ? m : st_next + st_left;
  wire [TW-1:0] i_set  = issue_matmul ? new_set : st_set;
  wire [31:0] i_k      = set_k[i_set];
  assign ab_raddr = i_src + i_row * i_stride;
  reg [8*ROWS-1:0] in_row;
  always @(*) begin
    for (c = 0; c < ROWS; c = c + 1) in_row[8*c +: 8] = (c < i_k) ? ab_rdata[8*c +: 8] : 8'd0;
  end

  // Row metadata, by entry beat: obuf address, acc, n, the op's slot, last row of its op.
  reg [31:0]   meta_addr [0:RD-1];
  reg          meta_acc  [0:RD-1];
  reg [TW-1:0] meta_set  [0:RD-1];
  reg          meta_last [0:RD-1];
  reg [SB-1:0] meta_slot [0:RD-1];
  wire [31:0]   in_addr = (issue_matmul ? dst : st_dst) + i_row * (issue_matmul ? dst_stride : st_dstride);
  wire          in_acc  = issue_matmul ? acc : st_acc;
  wire [SB-1:0] in_slot = issue_matmul ? slot_wr : st_slot;
  wire          in_last = i_row + 32'd1 == i_m;

  wire                 out_valid;
  wire [TW-1:0]        out_tag;
  wire [ACC_W*COLS-1:0] out_row;
  fq_array #(.ROWS(ROWS), .COLS(COLS), .ACC_W(ACC_W), .KIND(KIND), .WBITS(WBITS), .RW(32), .WSETS(WSETS)) array (
      .clk(clk), .rst(rst), .beat_start(b_start), .beat_end(b_end), .advance(run), .phase(ph_now),
      .in_valid(inject), .in_tag(i_set), .in_row(in_row),
      .w_clear(issue_preload), .w_en(pre_write), .w_tag(pre_busy ? pre_set_r : pre_set), .w_row(pre_i),
      .w_cols(w_cols), .w_data(w_data),
      .out_valid(out_valid), .out_tag(out_tag), .out_row(out_row), .pulses(pulses), .pe_valid(pe_valid),
      .psum_we(psum_we), .opnd_we(opnd_we), .valid_we(valid_we), .w_we(w_we),
      .skew_we(skew_we), .deskew_we(deskew_we), .skew_shift(skew_shift), .deskew_shift(deskew_shift));
  // The completing row (bypass for the 1 x 1 array, where a row leaves in the beat it enters).
  wire [RB-1:0] done_beat = (beat == LAST_BEAT) ? {RB{1'b0}} : beat + 1'b1;  // written LAT beats ago
  wire          bypass    = LAT == 0;
  wire [31:0]   o_addr = bypass ? in_addr : meta_addr[done_beat];
  wire          o_acc  = bypass ? in_acc : meta_acc[done_beat];
  wire [TW-1:0] o_set  = bypass ? i_set : meta_set[done_beat];
  wire          o_last = bypass ? in_last : meta_last[done_beat];
  wire [SB-1:0] o_slot = bypass ? in_slot : meta_slot[done_beat];
  wire [31:0]   o_n    = set_n[o_set];
  assign ob_addr = o_addr;
  assign ob_we   = out_valid;
  generate
    for (j = 0; j < COLS; j = j + 1) begin : g_ocol
      // A column sum of ACC_W bits, sign-extended to the 32-bit accumulator in obuf.
      wire [31:0] col;
      if (ACC_W < 32) begin : g_extend
        assign col = {{(32 - ACC_W){out_row[ACC_W*j + ACC_W - 1]}}, out_row[ACC_W*j +: ACC_W]};
      end else begin : g_full
        assign col = out_row[ACC_W*j +: 32];
      end
      assign ob_wdata[32*j +: 32] = o_acc ? ob_rdata[32*j +: 32] + col : col;
      assign ob_wmask[j] = j < o_n;
    end
  endgenerate

  // ---- in-order retirement ----
  wire         issuing = issue_preload || issue_matmul;
  reg [SD-1:0] fin_now;
  reg [7:0]    n_ret;
  reg          run_on;
  reg [SB-1:0] idx;
  reg [SB:0]   in_use;
  reg [SD-1:0] fin_set, fin_clr;  // slots finishing, slots retiring in this cycle
  always @(*) begin
    fin_set = {SD{1'b0}};
    if (pre_last) fin_set[pre_slot] = 1'b1;
    if (out_valid && o_last) fin_set[o_slot] = 1'b1;
    fin_now = fin | fin_set;
    n_ret = 8'd0;
    run_on = 1'b1;
    fin_clr = {SD{1'b0}};
    in_use = slot_wr - slot_rd + ((slot_wr < slot_rd) ? SD : 0);
    for (c = 0; c < SD; c = c + 1) begin
      idx = slot_rd + c[SB-1:0];
      if (run_on && c < in_use && fin_now[idx]) begin
        n_ret = n_ret + 8'd1;
        fin_clr[idx] = 1'b1;
      end else run_on = 1'b0;
    end
  end
  assign retire_n = n_ret;
  // A slot's bit is written when it finishes (1) or retires (0); both at once leave it 0.
  wire [SD-1:0] fin_wr = fin_set ^ fin_clr;

  // Register write enables. Preload and matmul never issue in the same cycle, nor a preload
  // while one writes rows, so each register has one enable.
  wire pre_row_we = !issue_preload && pre_write;
  wire [WSETS-1:0] rows_inc, rows_dec;
  genvar sg;
  generate
    for (sg = 0; sg < WSETS; sg = sg + 1) begin : g_setwe
      localparam [31:0] S32 = sg;
      assign rows_inc[sg] = issue_matmul && new_set == S32[TW-1:0];
      assign rows_dec[sg] = out_valid && o_set == S32[TW-1:0];
    end
  endgenerate
  assign ctrl_we = {n_ret != 8'd0,              // 11 slot_rd
                    issuing,                    // 10 slot_wr
                    run && b_end,               //  9 beat
                    run && w_now != 4'd1,       //  8 phase
                    epoch,                      //  7 grid_w
                    inject,                     //  6 st_left, st_next and the row's metadata
                    issue_matmul && pending,    //  5 active, pending
                    issue_matmul,               //  4 st_*
                    pre_row_we && pre_last,     //  3 pre_busy, pending_complete, set_beat
                    pre_row_we && pre_sub == 2'd2,  //  2 pre_byte
                    pre_row_we,                 //  1 pre_i, pre_bit, pre_sub, pre_max, pre_outl
                    issue_preload};             //  0 pre_*, pending, pending_complete, set_k, set_n
  assign fin_we = fin_wr;
  assign set_rows_we = rows_inc | rows_dec;

  integer s;
  always @(posedge clk) begin
    if (inject) begin
      meta_addr[beat] <= in_addr;
      meta_acc[beat] <= in_acc;
      meta_set[beat] <= i_set;
      meta_last[beat] <= in_last;
      meta_slot[beat] <= in_slot;
    end
    if (rst) begin
      active <= {TW{1'b0}};
      pending <= 1'b0;
      pending_complete <= 1'b0;
      pre_busy <= 1'b0;
      st_left <= 32'd0;
      grid_w <= 4'd1;
      phase <= 3'd0;
      beat <= {RB{1'b0}};
      slot_rd <= {SB{1'b0}};
      slot_wr <= {SB{1'b0}};
      fin <= {SD{1'b0}};
      for (s = 0; s < WSETS; s = s + 1) begin
        set_beat[s] <= 4'd1;
        set_k[s] <= 32'd0;
        set_n[s] <= 32'd0;
        set_rows[s] <= 32'd0;
      end
    end else begin
      // retirement
      for (c = 0; c < SD; c = c + 1) if (fin_wr[c]) fin[c] <= fin_set[c];
      if (n_ret != 8'd0) slot_rd <= slot_rd + n_ret[SB-1:0];
      if (issuing) slot_wr <= slot_wr + 1'b1;
      // preload
      if (issue_preload) begin
        pre_busy <= 1'b1;
        pre_src <= src;
        pre_stride <= src_stride;
        pre_k <= k;
        pre_n <= n;
        pre_fmt <= fmt;
        pre_i <= 32'd0;
        pre_bit <= 32'd0;
        pre_byte <= 32'd0;
        pre_sub <= 2'd0;
        pre_max <= 3'd0;
        pre_outl <= 1'b0;
        pre_slot <= slot_wr;
        pre_set_r <= pre_set;
        pending <= 1'b1;
        pending_complete <= 1'b0;
        set_k[pre_set] <= k;
        set_n[pre_set] <= n;
      end else if (pre_write) begin
        pre_i <= pre_i + 32'd1;
        pre_bit <= pre_bit + {28'd0, pre_fmt};
        pre_sub <= (pre_sub == 2'd2) ? 2'd0 : pre_sub + 2'd1;
        if (pre_sub == 2'd2) pre_byte <= pre_byte + 32'd1;
        pre_max <= tile_max;
        pre_outl <= tile_outl;
        if (pre_last) begin
          pre_busy <= 1'b0;
          pending_complete <= 1'b1;
          set_beat[pre_set_r] <= tile_beat;
        end
      end
      // matmul
      if (issue_matmul) begin
        if (pending) begin
          active <= next_set;
          pending <= 1'b0;
        end
        st_src <= src;
        st_stride <= src_stride;
        st_dst <= dst;
        st_dstride <= dst_stride;
        st_acc <= acc;
        st_set <= new_set;
        st_slot <= slot_wr;
      end
      if (inject) begin
        st_left <= (issue_matmul ? m : st_left) - 32'd1;
        st_next <= i_row + 32'd1;
      end
      if (epoch) grid_w <= new_w;
      if (run && w_now != 4'd1) phase <= b_end ? 3'd0 : ph_now + 3'd1;  // W = 1 keeps phase 0
      if (run && b_end) beat <= (beat == LAST_BEAT) ? {RB{1'b0}} : beat + 1'b1;
      for (s = 0; s < WSETS; s = s + 1) begin
        if (rows_inc[s] || rows_dec[s]) set_rows[s] <= set_rows[s] + (rows_inc[s] ? m : 32'd0) - {31'd0, rows_dec[s]};
      end
    end
  end

`ifndef SYNTHESIS
  always @(posedge clk) begin
    if (!rst && out_valid && out_tag != o_set) begin
      $display("fq_array_ctrl: a result row's weight set disagrees with its metadata");
      $stop;
    end
    if (!rst && issue_preload && !can_preload) begin
      $display("fq_array_ctrl: preload issued while the weight set is busy");
      $stop;
    end
    if (!rst && issue_preload && KIND == 2 && fmt != 4'd0 && {28'd0, fmt} > WBITS) begin
      $display("fq_array_ctrl: INT%0d weights preloaded into a bit-serial array of at most %0d bits", fmt, WBITS);
      $stop;
    end
    if (!rst && issue_matmul && !can_matmul) begin
      $display("fq_array_ctrl: matmul issued off the beat grid or before its tile");
      $stop;
    end
  end
`endif
endmodule

`default_nettype wire
