// DMA from obuf to DRAM (docs/isa.md "dma.store"): one chunk of up to DB bytes of one row per
// cycle on the DRAM write channel, stores in issue order; a store finishes `lat` cycles after its
// last chunk, when the DRAM acknowledges the write (docs/architecture.md "DMA and DRAM").
`default_nettype none

module fq_dma_out #(
    parameter DB     = 16,  // data port bytes
    parameter QDEPTH = 16
) (
    input  wire          clk,
    input  wire          rst,
    input  wire [31:0]   db,        // DRAM bytes per cycle, 1 .. DB (held from reset on)
    input  wire [31:0]   lat,       // DRAM write acknowledgement latency in cycles (held)
    input  wire          start,
    input  wire [31:0]   src,
    input  wire [31:0]   src_stride,
    input  wire [63:0]   dst,
    input  wire [31:0]   dst_stride,
    input  wire [31:0]   rows,
    input  wire [31:0]   bytes,
    output wire          full,
    output wire [31:0]   ob_raddr,
    input  wire [8*DB-1:0] ob_rdata,
    output wire          wr_valid,
    output wire [63:0]   wr_addr,
    output wire [8*DB-1:0] wr_data,
    output wire [31:0]   wr_len,
    output wire          finish,
    output wire [5:0]    reg_we      // register writes: issue, last chunk, ack, chunk, row end, ack clock
);
  localparam QB = $clog2(QDEPTH);
  reg [31:0] q_src    [0:QDEPTH-1];
  reg [31:0] q_sstr   [0:QDEPTH-1];
  reg [63:0] q_dst    [0:QDEPTH-1];
  reg [31:0] q_dstr   [0:QDEPTH-1];
  reg [31:0] q_rows   [0:QDEPTH-1];
  reg [31:0] q_bytes  [0:QDEPTH-1];
  reg [QB:0]   rd, wr;  // queue pointers with a wrap bit, as in fq_dma_in
  reg [31:0]   row, off;

  wire        empty   = rd == wr;
  wire        moving  = !empty || start;
  wire [31:0] h_src   = empty ? src : q_src[rd[QB-1:0]];
  wire [31:0] h_sstr  = empty ? src_stride : q_sstr[rd[QB-1:0]];
  wire [63:0] h_dst   = empty ? dst : q_dst[rd[QB-1:0]];
  wire [31:0] h_dstr  = empty ? dst_stride : q_dstr[rd[QB-1:0]];
  wire [31:0] h_rows  = empty ? rows : q_rows[rd[QB-1:0]];
  wire [31:0] h_bytes = empty ? bytes : q_bytes[rd[QB-1:0]];
  wire [31:0] left    = h_bytes - off;
  wire [31:0] len     = left < db ? left : db;
  wire        row_end = moving && (off + len == h_bytes);
  wire        op_end  = row_end && (row + 32'd1 == h_rows);

  assign full     = rd == (wr ^ {1'b1, {QB{1'b0}}});
  assign ob_raddr = h_src + row * h_sstr + off;
  assign wr_valid = moving;
  assign wr_addr  = h_dst + {32'd0, row} * {32'd0, h_dstr} + {32'd0, off};
  assign wr_data  = ob_rdata;
  assign wr_len   = len;

  // Acknowledgements: the clock counts at which stores finish, in order. The clock advances in
  // every cycle a store awaits its acknowledgement (and when one starts waiting), so each waits
  // `lat` of them; it holds while none waits.
  reg [31:0] now;
  reg [31:0] ack_at [0:QDEPTH-1];
  reg [QB:0] a_rd, a_wr;
  wire waiting = a_rd != a_wr;
  wire ack_now = (lat == 32'd0) ? op_end : (waiting && ack_at[a_rd[QB-1:0]] == now);
  wire now_we  = lat != 32'd0 && (waiting || op_end);
  assign finish = ack_now;
  assign reg_we = {now_we, row_end, moving, lat != 32'd0 && ack_now, op_end, start};

  always @(posedge clk) begin
    if (start) begin
      q_src[wr[QB-1:0]] <= src;
      q_sstr[wr[QB-1:0]] <= src_stride;
      q_dst[wr[QB-1:0]] <= dst;
      q_dstr[wr[QB-1:0]] <= dst_stride;
      q_rows[wr[QB-1:0]] <= rows;
      q_bytes[wr[QB-1:0]] <= bytes;
    end
    if (lat != 32'd0 && op_end) ack_at[a_wr[QB-1:0]] <= now + lat;
    if (rst) begin
      rd <= {(QB + 1){1'b0}};
      wr <= {(QB + 1){1'b0}};
      row <= 32'd0;
      off <= 32'd0;
      now <= 32'd0;
      a_rd <= {(QB + 1){1'b0}};
      a_wr <= {(QB + 1){1'b0}};
    end else begin
      if (now_we) now <= now + 32'd1;
      if (start) wr <= wr + 1'b1;
      if (op_end) rd <= rd + 1'b1;
      if (moving) off <= row_end ? 32'd0 : off + len;
      if (row_end) row <= op_end ? 32'd0 : row + 32'd1;
      if (lat != 32'd0) begin
        if (op_end) a_wr <= a_wr + 1'b1;
        if (ack_now) a_rd <= a_rd + 1'b1;
      end
    end
  end
endmodule

`default_nettype wire
